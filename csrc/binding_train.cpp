// The _core entries of the training engine: train_step and train_epoch take the network as
// lists of arrays (params w0, b0, w1, b1, ...; optimizer slots in the same order) plus tuples of
// settings, check them into an nn::Network view, release the GIL and run csrc/nn/train.hpp.
// The epoch polls for Ctrl-C through PyErr_CheckSignals (it takes the GIL back to do so).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <tuple>
#include <vector>

#include "binding_arrays.hpp"
#include "nn/train.hpp"

namespace fastmlp::binding {

using namespace nb::literals;

namespace {

// Network's lists (params w0, b0, w1, b1, ...; slots in the same order) as kernel views.
template <class T>
nn::Network<T> network(std::vector<Out<T>>& params, std::vector<Out<T>>& slots_m,
                       std::vector<Out<T>>& slots_v, std::vector<Out<T>>& slots_g,
                       const std::vector<int>& acts, int loss,
                       const OptTuple& opt, const SchedTuple& sched, Step& step,
                       const Weight<T>& class_weight, double l2_alpha,
                       const std::vector<double>& dropout, uint64_t seed) {
  const size_t n_layers = acts.size();
  check::require(n_layers > 0 && params.size() == 2 * n_layers && slots_m.size() == params.size()
                     && slots_v.size() == params.size(),
                 "network needs 2 params and 2 slots of each kind per activation");
  check::shape_is(step, "step", {1});
  nn::Network<T> net;
  for (size_t l = 0; l < n_layers; ++l) {
    Out<T>&w = params[2 * l], &b = params[2 * l + 1];
    check::ndim_is(w, "weights", 2);
    const int64_t n_in = dim(w, 0), n_out = dim(w, 1);
    check::require(l == 0 || n_in == net.layers.back().n_out, "weights do not chain by shape");
    check::shape_is(b, "biases", {n_out});
    for (size_t j : {2 * l, 2 * l + 1}) {
      check::require(slots_m[j].size() == params[j].size(), "slots_m must match params");
      check::require(slots_v[j].size() == params[j].size(), "slots_v must match params");
      check::require(slots_g.empty() || slots_g[j].size() == params[j].size(),
                     "slots_g must match params");
    }
    net.layers.push_back(nn::Layer<T>{w.data(), b.data(), n_in, n_out, activation(acts[l]),
                                      slots_m[2 * l].data(), slots_v[2 * l].data(),
                                      slots_m[2 * l + 1].data(), slots_v[2 * l + 1].data()});
  }
  net.loss = check::enum_index<nn::Loss>(loss, nn::kNumLosses, "loss");
  const auto& [kind, lr, momentum, nesterov, weight_decay, beta1, beta2, eps, alpha, dampening,
               centered, clip_norm] = opt;
  net.opt = nn::OptimizerConfig{
      check::enum_index<nn::Optimizer>(kind, nn::kNumOptimizers, "optimizer"), lr, momentum,
      nesterov, weight_decay, beta1, beta2, eps, alpha, dampening, centered, clip_norm};
  check::require(!centered || slots_g.size() == params.size(),
                 "centered RMSprop needs one slots_g array per parameter");
  if (!slots_g.empty())
    for (size_t l = 0; l < n_layers; ++l) {
      net.layers[l].w_g = slots_g[2 * l].data();
      net.layers[l].b_g = slots_g[2 * l + 1].data();
    }
  net.schedule = schedule_of(sched);
  net.step = step.data();
  net.class_weight = weights_or_null(class_weight, "class_weight", net.layers.back().n_out);
  check::require(l2_alpha >= 0.0, "alpha must be >= 0");  // NaN fails too
  net.alpha = l2_alpha;
  check::require(dropout.empty() || (dropout.size() == n_layers && dropout.back() == 0.0),
                 "dropout needs one rate per layer, the output layer's 0");
  for (double p : dropout) check::require(p >= 0.0 && p < 1.0, "dropout rates must lie in [0, 1)");
  net.dropout = dropout;
  net.seed = seed;
  return net;
}

template <class T, class Y>
std::tuple<double, int64_t> train_step(std::vector<Out<T>> params, std::vector<Out<T>> slots_m,
                                       std::vector<Out<T>> slots_v, std::vector<Out<T>> slots_g,
                                       std::vector<int> acts,
                                       int loss, OptTuple opt, SchedTuple sched, Step step,
                                       Weight<T> class_weight, double alpha,
                                       std::vector<double> dropout, uint64_t seed,
                                       Strided<T> x, Y y,
                                       Weight<T> sample_weight) {
  const nn::Network<T> net =
      network(params, slots_m, slots_v, slots_g, acts, loss, opt, sched, step, class_weight, alpha,
              dropout, seed);
  check::require(dim(x, 1) == net.layers.front().n_in, "x must have n_in columns");
  const nn::Target<T> target = target_of<T>(y, dim(x, 0), net.layers.back().n_out);
  const T* sw = weights_or_null(sample_weight, "sample_weight", dim(x, 0));
  nb::gil_scoped_release release;  // safe: only array memory below
  const nn::StepResult r = nn::train_step<T>(net, check::matrix(x), target, sw);
  return {r.loss, r.n_correct};
}

template <class T, class Y>
std::tuple<double, int64_t> train_epoch(std::vector<Out<T>> params, std::vector<Out<T>> slots_m,
                                        std::vector<Out<T>> slots_v, std::vector<Out<T>> slots_g,
                                       std::vector<int> acts,
                                        int loss, OptTuple opt, SchedTuple sched, Step step,
                                        Weight<T> class_weight, double alpha,
                                       std::vector<double> dropout, uint64_t seed,
                                       Strided<T> X, Y Y_,
                                        Weight<T> sample_weight, Labels order, int64_t batch_size) {
  const nn::Network<T> net =
      network(params, slots_m, slots_v, slots_g, acts, loss, opt, sched, step, class_weight, alpha,
              dropout, seed);
  check::require(dim(X, 1) == net.layers.front().n_in, "X must have n_in columns");
  const nn::Target<T> target = target_of<T>(Y_, dim(X, 0), net.layers.back().n_out);
  const T* sw = weights_or_null(sample_weight, "sample_weight", dim(X, 0));
  nn::EpochResult r;
  {
    // Safe: the epoch touches only array memory; should_stop takes the GIL back itself.
    nb::gil_scoped_release release;
    r = nn::train_epoch<T>(net, check::matrix(X), target, sw, order.data(), dim(order, 0),
                           batch_size, [] {
                             nb::gil_scoped_acquire gil;  // PyErr_CheckSignals needs the GIL
                             return PyErr_CheckSignals() != 0;
                           });
  }
  // A signal handler raised (KeyboardInterrupt for Ctrl-C): its error is still set; re-raise it.
  if (r.interrupted) throw nb::python_error();
  return {r.mean_loss, r.n_correct};
}

}  // namespace

template <class T>
void def_training(nb::module_& m) {
  // train_step / train_epoch release the GIL themselves (after reading the lists).
  m.def("train_step", &train_step<T, Labels>, "params"_a.noconvert(), "slots_m"_a.noconvert(),
        "slots_v"_a.noconvert(), "slots_g"_a.noconvert(), "activations"_a, "loss"_a, "optimizer"_a, "schedule"_a,
        "step"_a.noconvert(), "class_weight"_a.noconvert(), "alpha"_a, "dropout"_a, "seed"_a,
        "x"_a.noconvert(), "y"_a.noconvert(),
        "sample_weight"_a.noconvert());
  m.def("train_step", &train_step<T, In<T>>, "params"_a.noconvert(), "slots_m"_a.noconvert(),
        "slots_v"_a.noconvert(), "slots_g"_a.noconvert(), "activations"_a, "loss"_a, "optimizer"_a, "schedule"_a,
        "step"_a.noconvert(), "class_weight"_a.noconvert(), "alpha"_a, "dropout"_a, "seed"_a,
        "x"_a.noconvert(), "y"_a.noconvert(),
        "sample_weight"_a.noconvert());
  m.def("train_epoch", &train_epoch<T, Labels>, "params"_a.noconvert(), "slots_m"_a.noconvert(),
        "slots_v"_a.noconvert(), "slots_g"_a.noconvert(), "activations"_a, "loss"_a, "optimizer"_a, "schedule"_a,
        "step"_a.noconvert(), "class_weight"_a.noconvert(), "alpha"_a, "dropout"_a, "seed"_a,
        "X"_a.noconvert(), "Y"_a.noconvert(),
        "sample_weight"_a.noconvert(), "order"_a.noconvert(), "batch_size"_a);
  m.def("train_epoch", &train_epoch<T, In<T>>, "params"_a.noconvert(), "slots_m"_a.noconvert(),
        "slots_v"_a.noconvert(), "slots_g"_a.noconvert(), "activations"_a, "loss"_a, "optimizer"_a, "schedule"_a,
        "step"_a.noconvert(), "class_weight"_a.noconvert(), "alpha"_a, "dropout"_a, "seed"_a,
        "X"_a.noconvert(), "Y"_a.noconvert(),
        "sample_weight"_a.noconvert(), "order"_a.noconvert(), "batch_size"_a);
}

template void def_training<float>(nb::module_& m);
template void def_training<double>(nb::module_& m);

}  // namespace fastmlp::binding
