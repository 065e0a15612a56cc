// fastmlp._core: the nanobind module over csrc/gemm and csrc/nn. No maths here. This file holds
// the kernel API and the module; binding_train.cpp the training entries, binding_arrays.hpp
// the array types both accept.
//
// One m.def per kernel-API name, overloaded for float32 and float64 (nanobind picks by dtype).
// Every array argument is .noconvert(): without it nanobind would silently cast or copy, and a
// kernel would write a temporary instead of the caller's `out`. Each entry checks shapes
// (check.hpp), releases the GIL and calls the kernel. Python allocates every output
// (backends/cpp.py via fastmlp.checks), so C++ never owns memory it hands back.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <tuple>
#include <vector>

#include "binding_arrays.hpp"
#include "check.hpp"
#include "isa/caches.hpp"
#include "isa/isa.hpp"
#include "isa/peak.hpp"
#include "gemm/gemm.hpp"
#include "nn/activations.hpp"
#include "nn/dense.hpp"
#include "nn/dropout.hpp"
#include "nn/exp_lanes.hpp"
#include "nn/losses.hpp"
#include "nn/optim.hpp"
#include "nn/train.hpp"
#include "parallel/thread_pool.hpp"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fastmlp;
using namespace fastmlp::binding;

namespace {

template <class T>
void dropout_mask(uint64_t seed, int64_t step, int64_t layer, double p, Out<T> out) {
  check::require(step >= 1 && layer >= 0 && p >= 0.0 && p < 1.0, "bad dropout_mask arguments");
  const uint64_t key =
      nn::dropout_key(seed, static_cast<uint64_t>(step), static_cast<uint64_t>(layer));
  nn::dropout_mask<T>(key, p, out.data(), 0, static_cast<int64_t>(out.size()));
}

double scheduled_lr(double base_lr, const nn::ScheduleConfig& sched, int64_t t) {
  return nn::scheduled_lr(base_lr, checked(sched), t);
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

// exp_lanes' arrays, for its accuracy test (the kernel API reaches it through cross_entropy).
template <class T>
void exp_array(In<T> x, Out<T> out) {
  check::require(x.size() == out.size(), "x and out must have the same size");
  nn::exp_array(x.data(), out.data(), static_cast<int64_t>(x.size()));
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
  // grad_x without rows (of a batch with rows): not wanted, its product skipped
  const bool want_grad_x = !(batch > 0 && grad_x.ndim() == 2 && dim(grad_x, 0) == 0);
  if (want_grad_x) check::shape_is(grad_x, "grad_x", {batch, n_in});
  check::shape_is(grad_w, "grad_w", {n_in, n_out});
  check::shape_is(grad_b, "grad_b", {n_out});
  nn::dense_backward<T>(check::matrix(x), check::matrix(w), z.data(), a.data(), grad_a.data(),
                        activation(act), grad_z.data(), want_grad_x ? grad_x.data() : nullptr,
                        grad_w.data(), grad_b.data());
}

template <class T, class Y>
double loss_forward_backward(int loss, In<T> output, Y target, Out<T> grad_output,
                             Weight<T> sample_weight, Weight<T> class_weight,
                             bool clip_probabilities) {
  check::ndim_is(output, "output", 2);
  const int64_t batch = dim(output, 0), n_out = dim(output, 1);
  check::shape_is(grad_output, "grad_output", {batch, n_out});
  const nn::Weights<T> weights{weights_or_null(sample_weight, "sample_weight", batch),
                               weights_or_null(class_weight, "class_weight", n_out)};
  return nn::loss_forward_backward<T>(
      check::enum_index<nn::Loss>(loss, nn::kNumLosses, "loss"), output.data(),
      target_of<T>(target, batch, n_out), weights, grad_output.data(), batch, n_out, nullptr,
      clip_probabilities);
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
               double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool eps_on_raw_moment) {
  check::require(param.size() == grad.size() && m.size() == grad.size() && v.size() == grad.size(),
                 "param, grad, m and v must have the same size");
  nn::adam_step<T>(param.data(), grad.data(), m.data(), v.data(), grad.size(), step, lr, beta1,
                   beta2, eps, weight_decay, decoupled, eps_on_raw_moment);
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

// The active isa table entry: its name, its GEMM blocking for this CPU and the caches it was
// derived from, for fastmlp.info() and the ISA tests.
nb::dict kernel_info() {
  const isa::Active& active = isa::active();
  auto row = [](const gemm::Blocking& b) {
    nb::dict d;
    d["mr"] = b.mr, d["nr"] = b.nr, d["mc"] = b.mc, d["kc"] = b.kc, d["nc"] = b.nc;
    d["pack_a_bytes"] = b.pack_a_bytes;
    d["masked_b"] = b.masked_b;
    return d;
  };
  const isa::Caches& c = isa::caches();
  nb::dict caches;
  caches["l1d"] = c.l1d, caches["l2"] = c.l2, caches["l3"] = c.l3;
  caches["l2_sharing"] = c.l2_sharing, caches["l3_sharing"] = c.l3_sharing;
  caches["source"] = c.source;
  nb::dict out;
  out["isa"] = active.isa->name;
  out["features"] = active.isa->features;
  out["fused_madd"] = active.isa->fused_madd;
  out["float32"] = row(active.s);
  out["float64"] = row(active.d);
  if (active.isa->dgemm_n12) out["float64_9_to_12_columns"] = row(active.d_n12);
  out["caches"] = caches;
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
        "sample_weight"_a.noconvert(), "class_weight"_a.noconvert(),
        "clip_probabilities"_a = false, ReleaseGil());
  m.def("loss_forward_backward", &loss_forward_backward<T, In<T>>, "loss"_a,
        "output"_a.noconvert(), "target"_a.noconvert(), "grad_output"_a.noconvert(),
        "sample_weight"_a.noconvert(), "class_weight"_a.noconvert(),
        "clip_probabilities"_a = false, ReleaseGil());
  m.def("sgd_step", &sgd_step<T>, "param"_a.noconvert(), "grad"_a.noconvert(),
        "velocity"_a.noconvert(), "lr"_a, "momentum"_a, "nesterov"_a, "weight_decay"_a,
        "dampening"_a, "first"_a, ReleaseGil());
  m.def("adam_step", &adam_step<T>, "param"_a.noconvert(), "grad"_a.noconvert(),
        "m"_a.noconvert(), "v"_a.noconvert(), "step"_a, "lr"_a, "beta1"_a, "beta2"_a, "eps"_a,
        "weight_decay"_a, "decoupled"_a, "eps_on_raw_moment"_a = false, ReleaseGil());
  m.def("rmsprop_step", &rmsprop_step<T>, "param"_a.noconvert(), "grad"_a.noconvert(),
        "square_avg"_a.noconvert(), "velocity"_a.noconvert(), "grad_avg"_a.noconvert(), "lr"_a, "alpha"_a, "eps"_a,
        "momentum"_a, "weight_decay"_a, ReleaseGil());
  m.def("dropout_mask", &dropout_mask<T>, "seed"_a, "step"_a, "layer"_a, "p"_a,
        "out"_a.noconvert(), ReleaseGil());
  m.def("exp_array", &exp_array<T>, "x"_a.noconvert(), "out"_a.noconvert(), ReleaseGil());
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "fastmlp's C++ kernels; call them through fastmlp.backends.cpp, which checks arguments.";
  def_kernels<float>(m);
  def_kernels<double>(m);
  def_training_types(m);
  def_training<float>(m);
  def_training<double>(m);
  // The enum orders the kernels expect; backends/cpp.py asserts they match names.py.
  m.attr("ACTIVATIONS") = names(nn::kActivationNames, nn::kNumActivations);
  m.attr("LOSSES") = names(nn::kLossNames, nn::kNumLosses);
  m.attr("OPTIMIZERS") = names(nn::kOptimizerNames, nn::kNumOptimizers);
  m.attr("SCHEDULES") = names(nn::kScheduleNames, nn::kNumSchedules);
  m.def("scheduled_lr", &scheduled_lr, "base_lr"_a, "schedule"_a, "t"_a);
  m.def("set_num_threads", &parallel::set_num_threads, "n"_a);
  m.def("get_num_threads", &parallel::get_num_threads);
  m.def("build_info", &gemm::build_info);
  // The isa table (csrc/isa/isa.hpp). A bad FASTMLP_ISA raises ValueError (unknown name) or
  // RuntimeError (not on this CPU) from isa(), kernel_info() and every vectorised kernel.
  m.def("available_isas", &isa::available_isas);
  m.def("isa", &isa::isa_name);
  m.def("set_isa", &isa::set_isa, "name"_a);
  m.def("kernel_info", &kernel_info);
  // Seconds of vector arithmetic on the calling thread: keep the GIL released meanwhile.
  m.def("fma_peak", [](const std::string& isa, bool f64, double seconds, int runs) {
    nb::gil_scoped_release release;
    return isa::fma_peak_gflops(isa, f64, seconds, runs);
  }, "isa"_a = "", "float64"_a = false, "seconds"_a = 0.05, "runs"_a = 3);
  m.def("parallel_min_macs", &gemm::parallel_min_macs);
  m.def("set_parallel_min_macs", &gemm::set_parallel_min_macs, "macs"_a);
}

// threadpoolctl hooks: python/fastmlp/_threadpoolctl.py registers a threadpoolctl controller
// that finds this module among the loaded libraries by these symbols and calls them through
// ctypes, so threadpoolctl.threadpool_limits limits fastmlp's pool too (docs/
// threads.md). Plain C, default visibility (nanobind compiles the module with
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

// 0 when set; -1 (and nothing changed) when n is outside [1, kMaxThreads] or setting failed.
NB_EXPORT int fastmlp_set_num_threads(int n) noexcept {
  if (n < 1 || n > parallel::kMaxThreads) return -1;
  try {
    parallel::set_num_threads(n);
    return 0;
  } catch (...) {
    return -1;
  }
}

}  // extern "C"
