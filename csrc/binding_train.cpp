// The _core entries of the training engine: train_step, train_epoch and loss_gradient take a TrainConfig (the
// network's settings, named fields) and the network's arrays as lists (params w0, b0, w1, b1, ...;
// optimizer slots in the same order), check them into an nn::Network view, release the GIL and
// run csrc/nn/train.hpp. Results come back as StepResult / EpochResult, NaN or inf losses
// included: backends/cpp.py raises from their fields. The epoch polls for Ctrl-C through
// PyErr_CheckSignals (it takes the GIL back to do so).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/vector.h>

#include <utility>
#include <vector>

#include "binding_arrays.hpp"
#include "nn/gradient.hpp"
#include "nn/train.hpp"

namespace fastmlp::binding {

using namespace nb::literals;

// A network's settings besides its arrays, as _core.TrainConfig (filled by backends/cpp.py).
struct TrainConfig {
  std::vector<int> activations;  // indices into ACTIVATIONS, one per layer
  int loss = 0;                  // index into LOSSES
  nn::OptimizerConfig optimizer;
  nn::ScheduleConfig schedule;
  double l2 = 0.0;
  bool clip_probabilities = false;
  std::vector<double> dropout;  // empty, or one rate per layer (the last 0)
  uint64_t seed = 0;
};

namespace {

// An enum field read and written as its index, checked when set.
template <class C, class E>
auto enum_field(E C::*field, int count, const char* name) {
  return std::make_pair([field](const C& c) { return static_cast<int>(c.*field); },
                        [field, count, name](C& c, int value) {
                          c.*field = check::enum_index<E>(value, count, name);
                        });
}

// Network's lists (params w0, b0, w1, b1, ...; slots in the same order) as kernel views.
// The step counter stays a caller's array: C++ counts each applied update as it happens, so an
// interrupted or stopped epoch leaves it matching the weights.
template <class T>
nn::Network<T> network(const TrainConfig& config, std::vector<Out<T>>& params,
                       std::vector<Out<T>>& slots_m, std::vector<Out<T>>& slots_v,
                       std::vector<Out<T>>& slots_g, const Weight<T>& class_weight, Step& step) {
  const size_t n_layers = config.activations.size();
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
    net.layers.push_back(nn::Layer<T>{w.data(), b.data(), n_in, n_out,
                                      activation(config.activations[l]), slots_m[2 * l].data(),
                                      slots_v[2 * l].data(), slots_m[2 * l + 1].data(),
                                      slots_v[2 * l + 1].data()});
  }
  net.loss = check::enum_index<nn::Loss>(config.loss, nn::kNumLosses, "loss");
  net.opt = config.optimizer;
  check::require(!net.opt.centered || slots_g.size() == params.size(),
                 "centered RMSprop needs one slots_g array per parameter");
  if (!slots_g.empty())
    for (size_t l = 0; l < n_layers; ++l) {
      net.layers[l].w_g = slots_g[2 * l].data();
      net.layers[l].b_g = slots_g[2 * l + 1].data();
    }
  net.schedule = checked(config.schedule);
  net.step = step.data();
  net.class_weight = weights_or_null(class_weight, "class_weight", net.layers.back().n_out);
  check::require(config.l2 >= 0.0, "l2 must be >= 0");  // NaN fails too
  net.l2 = config.l2;
  net.clip_probabilities = config.clip_probabilities;
  const std::vector<double>& dropout = config.dropout;
  check::require(dropout.empty() || (dropout.size() == n_layers && dropout.back() == 0.0),
                 "dropout needs one rate per layer, the output layer's 0");
  for (double p : dropout) check::require(p >= 0.0 && p < 1.0, "dropout rates must lie in [0, 1)");
  net.dropout = dropout;
  net.seed = config.seed;
  return net;
}

template <class T, class Y>
nn::StepResult train_step(const TrainConfig& config, std::vector<Out<T>> params,
                          std::vector<Out<T>> slots_m, std::vector<Out<T>> slots_v,
                          std::vector<Out<T>> slots_g, Weight<T> class_weight, Step step,
                          Strided<T> x, Y y, Weight<T> sample_weight) {
  const nn::Network<T> net =
      network(config, params, slots_m, slots_v, slots_g, class_weight, step);
  check::require(dim(x, 1) == net.layers.front().n_in, "x must have n_in columns");
  const nn::Target<T> target = target_of<T>(y, dim(x, 0), net.layers.back().n_out);
  const T* sw = weights_or_null(sample_weight, "sample_weight", dim(x, 0));
  nb::gil_scoped_release release;  // safe: only array memory below
  return nn::train_step<T>(net, check::matrix(x), target, sw);
}

template <class T, class Y>
nn::EpochResult train_epoch(const TrainConfig& config, std::vector<Out<T>> params,
                            std::vector<Out<T>> slots_m, std::vector<Out<T>> slots_v,
                            std::vector<Out<T>> slots_g, Weight<T> class_weight, Step step,
                            Strided<T> X, Y Y_, Weight<T> sample_weight, Labels order,
                            int64_t batch_size) {
  const nn::Network<T> net =
      network(config, params, slots_m, slots_v, slots_g, class_weight, step);
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
  return r;
}

// Writes the gradient into grads (one array shaped like each of params, none overlapping the
// network's or the data's memory: C++ writes them while reading those).
template <class T, class Y>
nn::GradientResult loss_gradient(const TrainConfig& config, std::vector<Out<T>> params,
                                 std::vector<Out<T>> slots_m, std::vector<Out<T>> slots_v,
                                 std::vector<Out<T>> slots_g, Weight<T> class_weight, Step step,
                                 Strided<T> X, Y Y_, Weight<T> sample_weight,
                                 std::vector<Out<T>> grads) {
  const nn::Network<T> net =
      network(config, params, slots_m, slots_v, slots_g, class_weight, step);
  check::require(dim(X, 1) == net.layers.front().n_in, "X must have n_in columns");
  const nn::Target<T> target = target_of<T>(Y_, dim(X, 0), net.layers.back().n_out);
  const T* sw = weights_or_null(sample_weight, "sample_weight", dim(X, 0));
  check::require(grads.size() == params.size(), "grads needs one array per parameter");
  std::vector<T*> out;
  for (size_t j = 0; j < grads.size(); ++j) {
    check::require(grads[j].ndim() == params[j].ndim() && grads[j].size() == params[j].size()
                       && dim(grads[j], 0) == dim(params[j], 0),
                   "grads must be shaped like params");
    for (const auto& p : params) check::no_overlap(grads[j], "grads", p, "params");
    for (size_t i = 0; i < j; ++i) check::no_overlap(grads[j], "grads", grads[i], "grads");
    check::no_overlap(grads[j], "grads", X, "X");
    check::no_overlap(grads[j], "grads", Y_, "Y");
    check::no_overlap(grads[j], "grads", sample_weight, "sample_weight");
    check::no_overlap(grads[j], "grads", class_weight, "class_weight");
    out.push_back(grads[j].data());
  }
  nn::GradientResult r;
  {
    nb::gil_scoped_release release;  // safe: only array memory below; should_stop takes the GIL
    r = nn::loss_gradient<T>(net, check::matrix(X), target, sw, out.data(), [] {
      nb::gil_scoped_acquire gil;
      return PyErr_CheckSignals() != 0;
    });
  }
  if (r.interrupted) throw nb::python_error();
  return r;
}

// Registers name(config, params, slots_m, slots_v, slots_g, class_weight, step, data...).
// train_step and train_epoch release the GIL themselves (after reading the lists).
template <class F, class... Data>
void def_entry(nb::module_& m, const char* name, F f, const Data&... data) {
  m.def(name, f, "config"_a, "params"_a.noconvert(), "slots_m"_a.noconvert(),
        "slots_v"_a.noconvert(), "slots_g"_a.noconvert(), "class_weight"_a.noconvert(),
        "step"_a.noconvert(), data...);
}

// Both entries for targets of type Y: integer labels or float values.
template <class T, class Y>
void def_training_for(nb::module_& m) {
  def_entry(m, "train_step", &train_step<T, Y>, "x"_a.noconvert(), "y"_a.noconvert(),
            "sample_weight"_a.noconvert());
  def_entry(m, "train_epoch", &train_epoch<T, Y>, "X"_a.noconvert(), "Y"_a.noconvert(),
            "sample_weight"_a.noconvert(), "order"_a.noconvert(), "batch_size"_a);
  def_entry(m, "loss_gradient", &loss_gradient<T, Y>, "X"_a.noconvert(), "Y"_a.noconvert(),
            "sample_weight"_a.noconvert(), "grads"_a.noconvert());
}

}  // namespace

void def_training_types(nb::module_& m) {
  using O = nn::OptimizerConfig;
  auto [opt_get, opt_set] = enum_field(&O::kind, nn::kNumOptimizers, "optimizer");
  nb::class_<O>(m, "OptimizerConfig")
      .def(nb::init<>())
      .def_prop_rw("kind", opt_get, opt_set)  // index into OPTIMIZERS
      .def_rw("lr", &O::lr)
      .def_rw("momentum", &O::momentum)
      .def_rw("nesterov", &O::nesterov)
      .def_rw("weight_decay", &O::weight_decay)
      .def_rw("beta1", &O::beta1)
      .def_rw("beta2", &O::beta2)
      .def_rw("eps", &O::eps)
      .def_rw("eps_on_raw_moment", &O::eps_on_raw_moment)
      .def_rw("smoothing", &O::smoothing)
      .def_rw("dampening", &O::dampening)
      .def_rw("centered", &O::centered)
      .def_rw("clip_norm", &O::clip_norm);  // < 0: no clipping
  using S = nn::ScheduleConfig;
  auto [sched_get, sched_set] = enum_field(&S::kind, nn::kNumSchedules, "schedule");
  nb::class_<S>(m, "ScheduleConfig")
      .def(nb::init<>())
      .def_prop_rw("kind", sched_get, sched_set)  // index into SCHEDULES
      .def_rw("step_size", &S::step_size)
      .def_rw("gamma", &S::gamma)
      .def_rw("total_steps", &S::total_steps)
      .def_rw("warmup_steps", &S::warmup_steps)
      .def_rw("min_lr", &S::min_lr)
      .def_rw("power_t", &S::power_t);
  nb::class_<TrainConfig>(m, "TrainConfig")
      .def(nb::init<>())
      .def_rw("activations", &TrainConfig::activations)
      .def_rw("loss", &TrainConfig::loss)
      .def_rw("optimizer", &TrainConfig::optimizer)
      .def_rw("schedule", &TrainConfig::schedule)
      .def_rw("l2", &TrainConfig::l2)
      .def_rw("clip_probabilities", &TrainConfig::clip_probabilities)
      .def_rw("dropout", &TrainConfig::dropout)
      .def_rw("seed", &TrainConfig::seed);
  nb::class_<nn::StepResult>(m, "StepResult")
      .def_ro("loss", &nn::StepResult::loss)  // not finite: the update was not made
      .def_ro("n_correct", &nn::StepResult::n_correct);
  using G = nn::GradientResult;
  nb::class_<G>(m, "GradientResult")
      .def_ro("loss", &G::loss)  // not finite: the gradient was not finished
      .def_ro("penalty", &G::penalty)
      .def_ro("n_correct", &G::n_correct)
      .def_ro("blocks", &G::blocks);  // blocks of rows run (weight-0 blocks not counted)
  using E = nn::EpochResult;
  nb::class_<E>(m, "EpochResult")
      .def_ro("mean_loss", &E::mean_loss)
      .def_ro("n_correct", &E::n_correct)
      .def_ro("rows_mean_loss", &E::rows_mean_loss)  // batch losses weighed by row count
      .def_ro("rows_mean_penalty", &E::rows_mean_penalty)  // its L2 part
      .def_ro("bad_batch", &E::bad_batch)  // -1, or the batch whose loss was NaN or inf
      .def_ro("bad_loss", &E::bad_loss)
      .def_ro("first_row", &E::first_row)
      .def_ro("last_row", &E::last_row);
}

template <class T>
void def_training(nb::module_& m) {
  def_training_for<T, Labels>(m);
  def_training_for<T, In<T>>(m);
}

template void def_training<float>(nb::module_& m);
template void def_training<double>(nb::module_& m);

}  // namespace fastmlp::binding
