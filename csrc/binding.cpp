// fastmlp._core: the nanobind module over csrc/gemm and csrc/nn. No maths here.
//
// One m.def per kernel-API name, overloaded for float32 and float64 (nanobind picks by dtype).
// Every array argument is .noconvert(): without it nanobind would silently cast or copy, and a
// kernel would write a temporary instead of the caller's `out`. Each entry checks shapes
// (check.hpp), releases the GIL and calls the kernel. Python allocates every output
// (backends/cpp.py via _checks.py), so C++ never owns memory it hands back.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <tuple>
#include <vector>

#include "check.hpp"
#include "gemm/dispatch.hpp"
#include "gemm/gemm.hpp"
#include "nn/activations.hpp"
#include "nn/dense.hpp"
#include "nn/dropout.hpp"
#include "nn/losses.hpp"
#include "nn/optim.hpp"
#include "nn/train.hpp"
#include "parallel/thread_pool.hpp"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fastmlp;

namespace {

template <class T>
using Strided = nb::ndarray<const T, nb::ndim<2>, nb::device::cpu>;  // any strides: gemm packs
template <class T>
using In = nb::ndarray<const T, nb::c_contig, nb::device::cpu>;
template <class T>
using Out = nb::ndarray<T, nb::c_contig, nb::device::cpu>;
using Labels = nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Step = nb::ndarray<int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
// Optional per-row or per-class weights: an empty array stands for "not given".
template <class T>
using Weight = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
// (optimizer index, lr, momentum, nesterov, weight_decay, beta1, beta2, eps, alpha, dampening,
//  centered, clip_norm (< 0: none))
using OptTuple = std::tuple<int, double, double, bool, double, double, double, double, double,
                            double, bool, double>;
// (schedule index, step_size, gamma, total_steps, warmup_steps, min_lr, power_t)
using SchedTuple = std::tuple<int, int64_t, double, int64_t, int64_t, double, double>;

nn::ScheduleConfig schedule_of(const SchedTuple& sched) {
  const auto& [kind, step_size, gamma, total_steps, warmup_steps, min_lr, power_t] = sched;
  const nn::Schedule k = check::enum_index<nn::Schedule>(kind, nn::kNumSchedules, "schedule");
  // Python checks these with messages naming the field; this guards the divisions only.
  check::require(step_size >= 1 && total_steps >= 1 && warmup_steps >= 0
                     && (k != nn::Schedule::cosine || warmup_steps < total_steps),
                 "bad schedule fields");
  return nn::ScheduleConfig{k, step_size, gamma, total_steps, warmup_steps, min_lr, power_t};
}

template <class T>
void dropout_mask(uint64_t seed, int64_t step, int64_t layer, double p, Out<T> out) {
  check::require(step >= 1 && layer >= 0 && p >= 0.0 && p < 1.0, "bad dropout_mask arguments");
  const uint64_t key =
      nn::dropout_key(seed, static_cast<uint64_t>(step), static_cast<uint64_t>(layer));
  nn::dropout_mask<T>(key, p, out.data(), 0, static_cast<int64_t>(out.size()));
}

double scheduled_lr(double base_lr, const SchedTuple& sched, int64_t t) {
  return nn::scheduled_lr(base_lr, schedule_of(sched), t);
}

// Safe for every entry that uses it: below the guard only array memory and C++ objects are
// touched; the ndarray handles stay owned by nanobind's argument casters, which hold the GIL.
using ReleaseGil = nb::call_guard<nb::gil_scoped_release>;

template <class A>
int64_t dim(const A& a, size_t i) { return static_cast<int64_t>(a.shape(i)); }

nn::Activation activation(int act) {
  return check::enum_index<nn::Activation>(act, nn::kNumActivations, "activation");
}

template <class T>
nn::Target<T> target_of(const Labels& y, int64_t batch, int64_t) {
  check::shape_is(y, "target", {batch});
  return {y.data(), nullptr};
}
template <class T>
nn::Target<T> target_of(const In<T>& y, int64_t batch, int64_t n_out) {
  check::shape_is(y, "target", {batch, n_out});
  return {nullptr, y.data()};
}

// Below ~2^16 multiply-adds (a few tenths of a microsecond) a product is shorter than releasing
// and retaking the GIL is worth; larger ones let other Python threads run meanwhile.
bool keep_gil(int64_t m, int64_t n, int64_t k) { return double(m) * double(n) * double(k) < 65536.0; }

template <class T>
void matmul(Strided<T> a, Strided<T> b, bool trans_a, bool trans_b, Out<T> out, double alpha,
            double beta) {
  const int64_t m = dim(a, trans_a ? 1 : 0), k = dim(a, trans_a ? 0 : 1);
  const int64_t k_b = dim(b, trans_b ? 1 : 0), n = dim(b, trans_b ? 0 : 1);
  check::require(k == k_b, "inner dimensions of op(a) and op(b) differ");
  check::shape_is(out, "out", {m, n});
  check::no_overlap(out, "out", a, "a");
  check::no_overlap(out, "out", b, "b");
  auto run = [&] {
    gemm::gemm<T>(trans_a, trans_b, m, n, k, T(alpha), a.data(), a.stride(0), a.stride(1),
                  b.data(), b.stride(0), b.stride(1), T(beta), out.data(), n);
  };
  if (keep_gil(m, n, k)) return run();
  nb::gil_scoped_release release;
  run();
}

template <class T>
void activation_forward(int act, In<T> z, Out<T> out) {
  check::ndim_is(z, "z", 2);
  check::shape_is(out, "out", {dim(z, 0), dim(z, 1)});
  nn::activation_forward<T>(activation(act), z.data(), out.data(), dim(z, 0), dim(z, 1));
}

template <class T>
void activation_backward(int act, In<T> z, In<T> a, In<T> grad_a, Out<T> out) {
  check::ndim_is(z, "z", 2);
  const int64_t batch = dim(z, 0), n = dim(z, 1);
  check::shape_is(a, "a", {batch, n});
  check::shape_is(grad_a, "grad_a", {batch, n});
  check::shape_is(out, "out", {batch, n});
  nn::activation_backward<T>(activation(act), z.data(), a.data(), grad_a.data(), out.data(),
                             batch, n);
}

template <class T>
void dense_forward(Strided<T> x, Strided<T> w, In<T> b, int act, Out<T> out_z, Out<T> out_a) {
  const int64_t batch = dim(x, 0), n_out = dim(w, 1);
  check::require(dim(w, 0) == dim(x, 1), "w must have as many rows as x has columns");
  check::shape_is(b, "b", {n_out});
  check::shape_is(out_z, "out_z", {batch, n_out});
  check::shape_is(out_a, "out_a", {batch, n_out});
  auto run = [&] {
    nn::dense_forward<T>(check::matrix(x), check::matrix(w), b.data(), activation(act),
                         out_z.data(), out_a.data());
  };
  if (keep_gil(batch, n_out, dim(x, 1))) return run();  // as matmul
  nb::gil_scoped_release release;
  run();
}

template <class T>
void dense_backward(Strided<T> x, Strided<T> w, In<T> z, In<T> a, In<T> grad_a, int act,
                    Out<T> grad_z, Out<T> grad_x, Out<T> grad_w, Out<T> grad_b) {
  const int64_t batch = dim(x, 0), n_in = dim(x, 1), n_out = dim(w, 1);
  check::require(dim(w, 0) == n_in, "w must have as many rows as x has columns");
  check::shape_is(z, "z", {batch, n_out});
  check::shape_is(a, "a", {batch, n_out});
  check::shape_is(grad_a, "grad_a", {batch, n_out});
  check::shape_is(grad_z, "grad_z", {batch, n_out});
  check::shape_is(grad_x, "grad_x", {batch, n_in});
  check::shape_is(grad_w, "grad_w", {n_in, n_out});
  check::shape_is(grad_b, "grad_b", {n_out});
  nn::dense_backward<T>(check::matrix(x), check::matrix(w), z.data(), a.data(), grad_a.data(),
                        activation(act), grad_z.data(), grad_x.data(), grad_w.data(),
                        grad_b.data());
}

// The weight array's data, or null when it is empty ("not given"); otherwise it must have n entries.
template <class T>
const T* weights_or_null(const Weight<T>& w, const char* name, int64_t n) {
  if (w.size() == 0) return nullptr;
  check::shape_is(w, name, {n});
  return w.data();
}

template <class T, class Y>
double loss_forward_backward(int loss, In<T> output, Y target, Out<T> grad_output,
                             Weight<T> sample_weight, Weight<T> class_weight) {
  check::ndim_is(output, "output", 2);
  const int64_t batch = dim(output, 0), n_out = dim(output, 1);
  check::shape_is(grad_output, "grad_output", {batch, n_out});
  const nn::Weights<T> weights{weights_or_null(sample_weight, "sample_weight", batch),
                               weights_or_null(class_weight, "class_weight", n_out)};
  return nn::loss_forward_backward<T>(
      check::enum_index<nn::Loss>(loss, nn::kNumLosses, "loss"), output.data(),
      target_of<T>(target, batch, n_out), weights, grad_output.data(), batch, n_out);
}

template <class T>
void sgd_step(Out<T> param, In<T> grad, Out<T> velocity, double lr, double momentum,
              bool nesterov, double weight_decay, double dampening, bool first) {
  check::require(param.size() == grad.size() && velocity.size() == grad.size(),
                 "param, grad and velocity must have the same size");
  nn::sgd_step<T>(param.data(), grad.data(), velocity.data(), grad.size(), lr, momentum,
                  nesterov, weight_decay, dampening, first);
}

template <class T>
void adam_step(Out<T> param, In<T> grad, Out<T> m, Out<T> v, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled) {
  check::require(param.size() == grad.size() && m.size() == grad.size() && v.size() == grad.size(),
                 "param, grad, m and v must have the same size");
  nn::adam_step<T>(param.data(), grad.data(), m.data(), v.data(), grad.size(), step, lr, beta1,
                   beta2, eps, weight_decay, decoupled);
}

template <class T>
void rmsprop_step(Out<T> param, In<T> grad, Out<T> square_avg, Out<T> velocity, Out<T> grad_avg,
                  double lr, double alpha, double eps, double momentum, double weight_decay) {
  // grad_avg empty: not centered
  check::require(grad_avg.size() == 0 || grad_avg.size() == grad.size(),
                 "grad_avg must have the same size as grad");
  check::require(param.size() == grad.size() && square_avg.size() == grad.size() &&
                     velocity.size() == grad.size(),
                 "param, grad, square_avg and velocity must have the same size");
  nn::rmsprop_step<T>(param.data(), grad.data(), square_avg.data(), velocity.data(),
                      grad_avg.size() ? grad_avg.data() : nullptr, grad.size(), lr, alpha, eps, momentum, weight_decay);
}

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

// The active KernelSet's name and Blocking rows, for fastmlp.info() and the ISA tests.
nb::dict kernel_info() {
  const gemm::KernelSet& ks = gemm::active_kernels();
  auto row = [](const gemm::Blocking& b) {
    nb::dict d;
    d["mr"] = b.mr, d["nr"] = b.nr, d["mc"] = b.mc, d["kc"] = b.kc, d["nc"] = b.nc;
    return d;
  };
  nb::dict out;
  out["isa"] = ks.name;
  out["features"] = ks.features;
  out["float32"] = row(ks.s);
  out["float64"] = row(ks.d);
  return out;
}

nb::tuple names(const char* const* list, int count) {
  nb::list out;
  for (int i = 0; i < count; ++i) out.append(list[i]);
  return nb::tuple(out);
}

template <class T>
void def_kernels(nb::module_& m) {
  m.def("matmul", &matmul<T>, "a"_a.noconvert(), "b"_a.noconvert(), "trans_a"_a, "trans_b"_a,
        "out"_a.noconvert(), "alpha"_a, "beta"_a);  // releases the GIL itself, when it pays
  m.def("activation_forward", &activation_forward<T>, "activation"_a, "z"_a.noconvert(),
        "out"_a.noconvert(), ReleaseGil());
  m.def("activation_backward", &activation_backward<T>, "activation"_a, "z"_a.noconvert(),
        "a"_a.noconvert(), "grad_a"_a.noconvert(), "out"_a.noconvert(), ReleaseGil());
  m.def("dense_forward", &dense_forward<T>, "x"_a.noconvert(), "w"_a.noconvert(),
        "b"_a.noconvert(), "activation"_a, "out_z"_a.noconvert(), "out_a"_a.noconvert());
  m.def("dense_backward", &dense_backward<T>, "x"_a.noconvert(), "w"_a.noconvert(),
        "z"_a.noconvert(), "a"_a.noconvert(), "grad_a"_a.noconvert(), "activation"_a,
        "grad_z"_a.noconvert(), "grad_x"_a.noconvert(), "grad_w"_a.noconvert(),
        "grad_b"_a.noconvert(), ReleaseGil());
  m.def("loss_forward_backward", &loss_forward_backward<T, Labels>, "loss"_a,
        "output"_a.noconvert(), "target"_a.noconvert(), "grad_output"_a.noconvert(),
        "sample_weight"_a.noconvert(), "class_weight"_a.noconvert(), ReleaseGil());
  m.def("loss_forward_backward", &loss_forward_backward<T, In<T>>, "loss"_a,
        "output"_a.noconvert(), "target"_a.noconvert(), "grad_output"_a.noconvert(),
        "sample_weight"_a.noconvert(), "class_weight"_a.noconvert(), ReleaseGil());
  m.def("sgd_step", &sgd_step<T>, "param"_a.noconvert(), "grad"_a.noconvert(),
        "velocity"_a.noconvert(), "lr"_a, "momentum"_a, "nesterov"_a, "weight_decay"_a,
        "dampening"_a, "first"_a, ReleaseGil());
  m.def("adam_step", &adam_step<T>, "param"_a.noconvert(), "grad"_a.noconvert(),
        "m"_a.noconvert(), "v"_a.noconvert(), "step"_a, "lr"_a, "beta1"_a, "beta2"_a, "eps"_a,
        "weight_decay"_a, "decoupled"_a, ReleaseGil());
  m.def("rmsprop_step", &rmsprop_step<T>, "param"_a.noconvert(), "grad"_a.noconvert(),
        "square_avg"_a.noconvert(), "velocity"_a.noconvert(), "grad_avg"_a.noconvert(), "lr"_a, "alpha"_a, "eps"_a,
        "momentum"_a, "weight_decay"_a, ReleaseGil());
  m.def("dropout_mask", &dropout_mask<T>, "seed"_a, "step"_a, "layer"_a, "p"_a,
        "out"_a.noconvert(), ReleaseGil());
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

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "fastmlp's C++ kernels; call them through fastmlp.backends.cpp, which checks arguments.";
  def_kernels<float>(m);
  def_kernels<double>(m);
  // The enum orders the kernels expect; backends/cpp.py asserts they match _checks.py.
  m.attr("ACTIVATIONS") = names(nn::kActivationNames, nn::kNumActivations);
  m.attr("LOSSES") = names(nn::kLossNames, nn::kNumLosses);
  m.attr("OPTIMIZERS") = names(nn::kOptimizerNames, nn::kNumOptimizers);
  m.attr("SCHEDULES") = names(nn::kScheduleNames, nn::kNumSchedules);
  m.def("scheduled_lr", &scheduled_lr, "base_lr"_a, "schedule"_a, "t"_a);
  nb::exception<nn::NonFiniteLoss>(m, "NonFiniteLossError", PyExc_FloatingPointError);
  m.def("set_num_threads", &parallel::set_num_threads, "n"_a);
  m.def("get_num_threads", &parallel::get_num_threads);
  m.def("build_info", &gemm::build_info);
  // GEMM micro-kernel dispatch (csrc/gemm/dispatch.hpp). A bad FASTMLP_ISA raises ValueError
  // (unknown name) or RuntimeError (not on this CPU) from isa(), kernel_info() and every GEMM.
  m.def("available_isas", &gemm::available_isas);
  m.def("isa", &gemm::isa);
  m.def("set_isa", &gemm::set_isa, "name"_a);
  m.def("kernel_info", &kernel_info);
  m.def("parallel_min_macs", &gemm::parallel_min_macs);
  m.def("set_parallel_min_macs", &gemm::set_parallel_min_macs, "macs"_a);
}

// threadpoolctl hooks: python/fastmlp/_threadpoolctl.py registers a threadpoolctl controller
// that finds this module among the loaded libraries by these symbols and calls them through
// ctypes, so threadpoolctl.threadpool_limits limits fastmlp's pool too (reference/
// ENGINEERING.md §3). Plain C, default visibility (nanobind compiles the module with
// -fvisibility=hidden), and no exception may cross them: failures are return codes.
extern "C" {

// Threads fastmlp uses (>= 1), as fastmlp.get_num_threads().
NB_EXPORT int fastmlp_get_num_threads(void) noexcept {
  try {
    return parallel::get_num_threads();
  } catch (...) {
    return 1;
  }
}

// 0 when set; -1 (and nothing changed) when n < 1 or setting failed.
NB_EXPORT int fastmlp_set_num_threads(int n) noexcept {
  if (n < 1) return -1;
  try {
    parallel::set_num_threads(n);
    return 0;
  } catch (...) {
    return -1;
  }
}

}  // extern "C"
