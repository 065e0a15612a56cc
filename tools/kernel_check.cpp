// kernel_check: the C++ kernels checked without Python, for builds that cannot load the module:
// the AArch64 build run under qemu-user (tools/check_arm.sh) and the clang build
// (tools/check_clang.sh); it also runs natively on x86-64 as a check of the program itself.
//
// For every instruction set this CPU runs (isa::available_isas: neon and generic on AArch64,
// avx512/avx2/generic on x86-64), float32 and float64:
//   gemm:        every edge size of that ISA's blocking (0, 1, small primes, MR/NR/MC/KC/NC
//                and +-1, 2 blocks + 1), each dimension in turn, all four transposes, a
//                column-major A and B, alpha/beta pairs (beta 0 with NaN-poisoned C), the
//                bias + relu / leaky_relu epilogue, serial and split over 2 threads; against a
//                plain double loop with the bound of tests/tolerances.py (gemm_bound):
//                |C - Cref| <= 2 gamma_{K+3} G + (K+3) tiny, G = |alpha| |A||B| + |beta| |C0|;
//                nothing written outside C's n columns; the split run bitwise the serial one.
//   activations: the seven forwards and backwards against their scalar formulas in double,
//                with the bounds of tests/tolerances.py (activation_forward_bound and
//                activation_backward_gauge / _rtol).
//   training:    train_step of a 6-9-4 tanh net (mse) with sgd, adam and rmsprop, at a batch
//                the small-network loops take (5) and one that goes through gemm (70), against
//                a plain double implementation of the same step; the small loops bitwise the
//                gemm path (FASTMLP_SMALL_PATH=0).
// Usage: kernel_check [ISA ...] (default: every available one). Prints one line per
// instruction set and dtype and ends with "N passed, M failed"; exit status 1 on any failure.
// FASTMLP_BLOCKING (e.g. "24,40,36") shrinks the cache blocks so that MC/KC/NC edges are cheap
// (tools/check_arm.sh runs both the derived blocking and a small one).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "gemm/gemm.hpp"
#include "isa/isa.hpp"
#include "nn/activations.hpp"
#include "nn/train.hpp"
#include "parallel/thread_pool.hpp"

namespace {

using fastmlp::nn::Activation;

int64_t g_passed = 0, g_failed = 0;

// Counts one check; prints the first failures in full (the rest would only repeat them).
bool expect(bool ok, const std::string& what) {
  if (ok) {
    ++g_passed;
  } else {
    if (++g_failed <= 20) std::printf("FAIL %s\n", what.c_str());
  }
  return ok;
}

template <class T>
const char* dtype_name() {
  return std::is_same_v<T, float> ? "float32" : "float64";
}

// tests/tolerances.py: u, tiny, gamma_k.
template <class T>
double unit_roundoff() {
  return std::is_same_v<T, float> ? 0x1p-24 : 0x1p-53;
}
template <class T>
double tiny() {
  return 4.0 * double(std::numeric_limits<T>::min());
}
template <class T>
double gamma_k(int64_t k) {
  const double ku = double(k) * unit_roundoff<T>();
  return ku / (1 - ku);
}
// glibc's exp/tanh/erf and fastmlp's tanh_f32 (1.13 ulp): 1e-6 is ~8 ulp in float32; float64
// 1e-13, generous for libm yet far below any formula error (tests/tolerances.py).
template <class T>
double transcendental_rtol() {
  return std::is_same_v<T, float> ? 1e-6 : 1e-13;
}
constexpr double kFewUlps = 4;  // arithmetic-only elementwise ops: at most ~4 roundings

struct Rng {
  std::mt19937_64 gen{20261207};
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(gen); }
};

// Bitwise equality, NaN included.
template <class T>
bool same_bits(T x, T y) {
  return std::memcmp(&x, &y, sizeof(T)) == 0;
}

// ---- gemm --------------------------------------------------------------------------------

struct GemmCase {
  bool ta, tb;
  bool col_major;  // A and B stored column-major (F order) instead of row-major
  int64_t m, n, k;
  double alpha, beta;
  int ep;  // 0 none, 1 bias + relu (relu(z) to C, z to out), 2 bias + leaky_relu (z to C, act(z) to out)
  bool split;  // parallel_min_macs 0: split over the pool's threads whatever the size
};

std::string describe(const GemmCase& g) {
  char s[200];
  std::snprintf(s, sizeof s, "m=%lld n=%lld k=%lld ta=%d tb=%d %s alpha=%g beta=%g ep=%d split=%d",
                (long long)g.m, (long long)g.n, (long long)g.k, g.ta, g.tb,
                g.col_major ? "F-order" : "C-order", g.alpha, g.beta, g.ep, g.split);
  return s;
}

// A matrix stored (rows, cols) row-major or column-major, with a padded leading dimension
// (so rows are not contiguous with each other); op() reads op(X)(i, j) under `trans`.
template <class T>
struct Stored {
  int64_t rows, cols, rs, cs;
  std::vector<T> data;
  Stored(int64_t r, int64_t c, bool col_major, Rng& rng) : rows(r), cols(c) {
    const int64_t ld = (col_major ? r : c) + 3;
    rs = col_major ? 1 : ld;
    cs = col_major ? ld : 1;
    data.assign(size_t(std::max<int64_t>(1, (col_major ? c : r) * ld)), T(0));
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) data[size_t(i * rs + j * cs)] = T(rng.uniform(-1, 1));
  }
  double op(bool trans, int64_t i, int64_t j) const {
    return double(trans ? data[size_t(j * rs + i * cs)] : data[size_t(i * rs + j * cs)]);
  }
};

// Runs one case; returns C (m x ldc, guard columns included) and out for the bitwise check.
template <class T>
void run_gemm(const GemmCase& g, const Stored<T>& a, const Stored<T>& b, const std::vector<T>& c0,
              const std::vector<T>& bias, int64_t ldc, std::vector<T>* c, std::vector<T>* out) {
  *c = c0;
  *out = std::vector<T>(c0.size(), T(-7));  // a sentinel: out is write-only
  fastmlp::gemm::Epilogue<T> ep{};
  if (g.ep) {
    ep.bias = bias.data();
    ep.act = g.ep == 1 ? fastmlp::gemm::RegAct::relu : fastmlp::gemm::RegAct::leaky_relu;
    ep.slope = T(fastmlp::nn::kLeakyReluSlope);
    ep.out = out->data();  // never c itself: c is __restrict in the kernels (ukernel.hpp)
  }
  fastmlp::gemm::set_parallel_min_macs(g.split ? 0 : int64_t(1) << 62);
  fastmlp::gemm::gemm<T>(g.ta, g.tb, g.m, g.n, g.k, T(g.alpha), a.data.data(), a.rs, a.cs,
                         b.data.data(), b.rs, b.cs, T(g.beta), c->data(), ldc,
                         g.ep ? &ep : nullptr);
}

template <class T>
void check_gemm_case(const GemmCase& g, Rng& rng) {
  const int64_t m = g.m, n = g.n, k = g.k, ldc = n + 2;  // 2 guard columns per row
  Stored<T> a(g.ta ? k : m, g.ta ? m : k, g.col_major, rng);
  Stored<T> b(g.tb ? n : k, g.tb ? k : n, g.col_major, rng);
  const T sentinel = T(12345.5);
  std::vector<T> c0(size_t(std::max<int64_t>(1, m * ldc)), sentinel), bias(size_t(n) + 1);
  for (auto& x : bias) x = T(rng.uniform(-1, 1));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      c0[size_t(i * ldc + j)] = g.beta == 0 ? std::numeric_limits<T>::quiet_NaN()
                                            : T(rng.uniform(-1, 1));
  std::vector<T> c, out;
  run_gemm(g, a, b, c0, bias, ldc, &c, &out);

  bool ok = true;
  std::string first;
  for (int64_t i = 0; i < m && ok; ++i) {
    for (int64_t j = 0; j < ldc && ok; ++j) {
      const size_t at = size_t(i * ldc + j);
      if (j >= n) {  // guard columns: never written (nor out's)
        if (!same_bits(c[at], sentinel) || !same_bits(out[at], T(-7))) {
          ok = false;
          first = "wrote past column n at (" + std::to_string(i) + "," + std::to_string(j) + ")";
        }
        continue;
      }
      double sum = 0, gauge = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double x = a.op(g.ta, i, p), y = b.op(g.tb, p, j);
        sum += x * y;
        gauge += std::fabs(x * y);
      }
      double ref = double(T(g.alpha)) * sum;
      gauge *= std::fabs(double(T(g.alpha)));
      if (g.beta != 0) {
        ref += double(T(g.beta)) * double(c0[at]);
        gauge += std::fabs(double(T(g.beta)) * double(c0[at]));
      }
      int64_t roundings = k + 3;
      if (g.ep) {  // z = C + bias: one more rounding, |bias| joins the gauge
        ref += double(bias[size_t(j)]);
        gauge += std::fabs(double(bias[size_t(j)]));
        roundings += 1;
      }
      const double bound = 2 * gamma_k<T>(roundings) * gauge + double(roundings) * tiny<T>();
      const T z = g.ep == 1 ? out[at] : c[at];  // relu's kernel keeps z in out
      if (!(std::fabs(double(z) - ref) <= bound)) {
        ok = false;
        char s[160];
        std::snprintf(s, sizeof s, "C(%lld,%lld) = %.9g, reference %.9g, bound %.3g",
                      (long long)i, (long long)j, double(z), ref, bound);
        first = s;
      }
      // act(z), the scalar formula (activations.cpp) on the kernel's own z: bitwise (relu's in C)
      const T want = g.ep == 1 ? (z < T(0) ? T(0) : z)
                               : (z > T(0) ? z : z * T(fastmlp::nn::kLeakyReluSlope));
      const T got = g.ep == 1 ? c[at] : out[at];
      if (g.ep && !same_bits(got, want)) {
        ok = false;
        char s[160];
        std::snprintf(s, sizeof s, "act(%lld,%lld) = %.9g, act(z) %.9g", (long long)i,
                      (long long)j, double(got), double(want));
        first = s;
      }
    }
  }
  // The thread split only moves tile boundaries: the same bits serial and split.
  if (ok && m * n * k > 0) {
    GemmCase other = g;
    other.split = !g.split;
    std::vector<T> c2, out2;
    run_gemm(other, a, b, c0, bias, ldc, &c2, &out2);
    for (size_t i = 0; i < c.size() && ok; ++i)
      if (!same_bits(c[i], c2[i]) || !same_bits(out[i], out2[i]))
        ok = false, first = "serial and split runs differ bitwise";
  }
  expect(ok, std::string(fastmlp::isa::isa_name()) + " " + dtype_name<T>() + " gemm " +
                 describe(g) + ": " + first);
}

// The sizes to try around one blocking parameter x: x - 1, x, x + 1 (those >= 0).
void around(int64_t x, std::vector<int64_t>* v) {
  for (int64_t d = -1; d <= 1; ++d)
    if (x + d >= 0) v->push_back(x + d);
}

template <class T>
int64_t check_gemm(Rng& rng) {
  const auto& active = fastmlp::isa::active();
  const fastmlp::gemm::Blocking bk = std::is_same_v<T, float> ? active.s : active.d;
  const int64_t MR = bk.mr, NR = bk.nr;
  std::vector<int64_t> small = {0, 1, 2, 3, 5, 7, 13};
  std::vector<int64_t> ms = small, ns = small, ks = small;
  for (int64_t x : {MR, 2 * MR, bk.mc}) around(x, &ms);
  for (int64_t x : {NR, 2 * NR, bk.nc}) around(x, &ns);
  for (int64_t x : {int64_t(31), bk.kc, 2 * bk.kc}) around(x, &ks);
  // Each dimension runs through its list with the other two at an edge (a partial tile) and
  // at a size crossing a whole block, so every tile shape meets every block edge.
  struct Dims { int64_t m, n, k; };
  std::vector<Dims> dims;
  for (int64_t m : ms) {
    dims.push_back({m, NR + 1, 17});
    dims.push_back({m, 2 * NR + 3, bk.kc + 1});
  }
  for (int64_t n : ns) {
    dims.push_back({MR + 1, n, 17});
    dims.push_back({2 * MR + 3, n, bk.kc + 1});
  }
  for (int64_t k : ks) {
    dims.push_back({MR - 1, NR + 1, k});
    dims.push_back({2 * MR + 3, 2 * NR + 3, k});
  }
  dims.push_back({bk.mc + 1, bk.nc + 1, bk.kc + 1});  // every block edge at once
  const double alphas[4] = {1, 0.5, -1, 2}, betas[4] = {0, -1.5, 1, 0};
  int64_t count = 0;
  for (const Dims& d : dims)
    for (int t = 0; t < 4; ++t) {
      GemmCase g{(t & 1) != 0, (t & 2) != 0, false, d.m, d.n, d.k, 1, 0, 0, false};
      const int64_t i = count;
      g.alpha = alphas[i % 4], g.beta = betas[(i / 4) % 4];
      g.col_major = i % 3 == 2;
      g.ep = int(i % 5 == 1 ? 1 : i % 5 == 3 ? 2 : 0);
      g.split = i % 2 == 1;
      check_gemm_case<T>(g, rng);
      ++count;
    }
  return count;
}

// ---- activations ---------------------------------------------------------------------------

constexpr double kPi = 3.14159265358979323846;

double ref_forward(Activation act, double z) {
  switch (act) {
    case Activation::identity: return z;
    case Activation::relu: return z < 0 ? 0 : z;
    case Activation::leaky_relu: return z > 0 ? z : z * fastmlp::nn::kLeakyReluSlope;
    case Activation::sigmoid: return 1 / (1 + std::exp(-z));
    case Activation::tanh: return std::tanh(z);
    case Activation::gelu: return z * 0.5 * (1 + std::erf(z / std::sqrt(2.0)));
    default: return 0;  // softmax: by rows, below
  }
}

template <class T>
bool check_activation(Activation act, Rng& rng) {
  const int64_t rows = 5, n = 13, size = rows * n;
  const size_t count = static_cast<size_t>(size);
  std::vector<T> z(count), a(count), ga(count), gz(count);
  const double specials[] = {0.0, -0.0, 1e-30, -1e-30, 30, -30, 0.74, 0.76, 9.2, -9.2, 3, -3};
  for (int64_t i = 0; i < size; ++i) {
    z[size_t(i)] = i < 12 ? T(specials[i]) : T(rng.uniform(-8, 8));
    ga[size_t(i)] = T(rng.uniform(-1, 1));
  }
  fastmlp::nn::activation_forward<T>(act, z.data(), a.data(), rows, n);
  fastmlp::nn::activation_backward<T>(act, z.data(), a.data(), ga.data(), gz.data(), rows, n);
  const double u = unit_roundoff<T>(), rt = transcendental_rtol<T>(), tn = tiny<T>();
  bool ok = true;
  for (int64_t r = 0; r < rows; ++r) {
    // softmax's reference row, from the same z
    double mx = -INFINITY, sum = 0, dot = 0;
    for (int64_t j = 0; j < n; ++j) mx = std::max(mx, double(z[size_t(r * n + j)]));
    for (int64_t j = 0; j < n; ++j) sum += std::exp(double(z[size_t(r * n + j)]) - mx);
    for (int64_t j = 0; j < n; ++j)
      dot += double(ga[size_t(r * n + j)]) * double(a[size_t(r * n + j)]);
    double dot_abs = 0;
    for (int64_t j = 0; j < n; ++j)
      dot_abs += std::fabs(double(ga[size_t(r * n + j)]) * double(a[size_t(r * n + j)]));
    for (int64_t j = 0; j < n; ++j) {
      const size_t at = size_t(r * n + j);
      const double zz = z[at], aa = a[at], g = ga[at];
      // forward: tests/tolerances.py activation_forward_bound
      double ref, bound;
      if (act == Activation::softmax) {
        ref = std::exp(zz - mx) / sum;
        bound = (rt + double(n + 4) * u) * std::fabs(ref) + tn;
      } else {
        ref = ref_forward(act, zz);
        bound = act == Activation::gelu ? rt * (std::fabs(ref) + std::fabs(zz)) + tn
                : (act == Activation::sigmoid || act == Activation::tanh) ? rt * std::fabs(ref) + tn
                                                                           : kFewUlps * u * std::fabs(ref) + tn;
      }
      if (!(std::fabs(aa - ref) <= bound)) ok = false;
      // backward: grad_a f'(z), the derivative from the kernel's a where the formula uses a
      // (activation_backward_gauge / _rtol)
      double gref, gauge, rtol = kFewUlps * u;
      const double pdf = std::exp(-0.5 * zz * zz) / std::sqrt(2 * kPi);
      switch (act) {
        case Activation::identity: gref = g, gauge = std::fabs(g); break;
        case Activation::relu: gref = zz > 0 ? g : 0, gauge = std::fabs(g); break;
        case Activation::leaky_relu:
          gref = zz > 0 ? g : g * fastmlp::nn::kLeakyReluSlope, gauge = std::fabs(g);
          break;
        case Activation::sigmoid:
          gref = g * aa * (1 - aa), gauge = std::fabs(gref);
          break;
        case Activation::tanh: gref = g * (1 - aa * aa), gauge = std::fabs(g); break;
        case Activation::gelu:
          gref = g * (0.5 * (1 + std::erf(zz / std::sqrt(2.0))) + zz * pdf);
          gauge = std::fabs(g) * (1 + std::fabs(zz) * pdf);
          rtol = rt + kFewUlps * u;
          break;
        default:  // softmax
          gref = aa * (g - dot);
          gauge = std::fabs(aa) * (std::fabs(g) + dot_abs);
          rtol = double(n + 2 * kFewUlps) * u;
      }
      if (!(std::fabs(double(gz[at]) - gref) <= rtol * gauge + tn)) ok = false;
    }
  }
  return expect(ok, std::string(fastmlp::isa::isa_name()) + " " + dtype_name<T>() +
                        " activation " + fastmlp::nn::kActivationNames[int(act)]);
}

// ---- one training step ---------------------------------------------------------------------

// The 6-9-4 net: tanh hidden layer, identity output, mse. Parameters as flat double arrays.
struct RefNet {
  std::vector<double> w0, b0, w1, b1;
};
constexpr int64_t kIn = 6, kHid = 9, kOut = 4;

// Gradients of the mean squared error (fastmlp's mse: mean over every output element) in
// double; returns the loss.
double ref_gradients(const RefNet& p, const std::vector<double>& x, const std::vector<double>& y,
                     int64_t batch, RefNet* g) {
  std::vector<double> a0(size_t(batch * kHid)), out(size_t(batch * kOut)), gout(out.size());
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t j = 0; j < kHid; ++j) {
      double s = p.b0[size_t(j)];
      for (int64_t q = 0; q < kIn; ++q) s += x[size_t(i * kIn + q)] * p.w0[size_t(q * kHid + j)];
      a0[size_t(i * kHid + j)] = std::tanh(s);
    }
    for (int64_t j = 0; j < kOut; ++j) {
      double s = p.b1[size_t(j)];
      for (int64_t q = 0; q < kHid; ++q) s += a0[size_t(i * kHid + q)] * p.w1[size_t(q * kOut + j)];
      out[size_t(i * kOut + j)] = s;
    }
  }
  double loss = 0;
  const double size = double(batch * kOut);
  for (size_t e = 0; e < out.size(); ++e) {
    const double d = out[e] - y[e];
    loss += d * d / size;
    gout[e] = 2 * d / size;
  }
  *g = RefNet{std::vector<double>(p.w0.size()), std::vector<double>(p.b0.size()),
              std::vector<double>(p.w1.size()), std::vector<double>(p.b1.size())};
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t j = 0; j < kOut; ++j) {
      const double go = gout[size_t(i * kOut + j)];
      g->b1[size_t(j)] += go;
      for (int64_t q = 0; q < kHid; ++q) g->w1[size_t(q * kOut + j)] += a0[size_t(i * kHid + q)] * go;
    }
    for (int64_t q = 0; q < kHid; ++q) {
      double ga = 0;
      for (int64_t j = 0; j < kOut; ++j) ga += gout[size_t(i * kOut + j)] * p.w1[size_t(q * kOut + j)];
      const double av = a0[size_t(i * kHid + q)], gz = ga * (1 - av * av);
      g->b0[size_t(q)] += gz;
      for (int64_t r = 0; r < kIn; ++r) g->w0[size_t(r * kHid + q)] += x[size_t(i * kIn + r)] * gz;
    }
  }
  return loss;
}

// PyTorch's update rules (fastmlp's optimizers), in double, on one parameter array.
struct RefSlots {
  std::vector<double> m, v;
};
void ref_update(const fastmlp::nn::OptimizerConfig& o, int64_t step, std::vector<double>* p,
                const std::vector<double>& g, RefSlots* s) {
  using fastmlp::nn::Optimizer;
  s->m.resize(p->size()), s->v.resize(p->size());
  for (size_t i = 0; i < p->size(); ++i) {
    double& w = (*p)[i];
    if (o.kind == Optimizer::sgd) {
      w -= o.lr * g[i];
    } else if (o.kind == Optimizer::adam) {
      s->m[i] = o.beta1 * s->m[i] + (1 - o.beta1) * g[i];
      s->v[i] = o.beta2 * s->v[i] + (1 - o.beta2) * g[i] * g[i];
      const double bc1 = 1 - std::pow(o.beta1, double(step));
      const double bc2 = std::sqrt(1 - std::pow(o.beta2, double(step)));
      w -= o.lr / bc1 * s->m[i] / (std::sqrt(s->v[i]) / bc2 + o.eps);
    } else {  // rmsprop, plain
      s->v[i] = o.smoothing * s->v[i] + (1 - o.smoothing) * g[i] * g[i];
      w -= o.lr * g[i] / (std::sqrt(s->v[i]) + o.eps);
    }
  }
}

template <class T>
struct TrainState {
  std::vector<T> w0, b0, w1, b1, slots;
  int64_t step = 0;
};

// Runs `steps` train_steps of the net from `init` on (x, y); returns the losses.
template <class T>
std::vector<double> run_fastmlp(const fastmlp::nn::OptimizerConfig& o, TrainState<T>* st,
                                const std::vector<T>& x, const std::vector<T>& y, int64_t batch,
                                int steps) {
  using namespace fastmlp::nn;
  const size_t n0 = size_t(kIn * kHid), n1 = size_t(kHid * kOut);
  st->slots.assign(2 * (n0 + n1 + size_t(kHid + kOut)), T(0));
  T* s = st->slots.data();
  Layer<T> l0{st->w0.data(), st->b0.data(), kIn, kHid, Activation::tanh,
              s, s + n0, s + 2 * n0, s + 2 * n0 + kHid};
  s += 2 * (n0 + size_t(kHid));
  Layer<T> l1{st->w1.data(), st->b1.data(), kHid, kOut, Activation::identity,
              s, s + n1, s + 2 * n1, s + 2 * n1 + kOut};
  Network<T> net;
  net.layers = {l0, l1};
  net.loss = Loss::mse;
  net.opt = o;
  net.step = &st->step;
  std::vector<double> losses;
  for (int t = 0; t < steps; ++t) {
    const StepResult r = train_step<T>(net, c_matrix<const T>(x.data(), batch, kIn),
                                       Target<T>{nullptr, y.data()}, nullptr);
    losses.push_back(r.loss);
  }
  return losses;
}

// Update bound: the step is a few GEMMs with K <= 70 and tanh, so its relative error is at
// most ~(K + 10) u times a gauge within ~10x the largest update: 1e-4 (float32) and 1e-11
// (float64) of the largest update, 3e-5 and 1e-12 of the loss; an index or formula error is
// of the order of the update itself. Adam and RMSprop divide by sqrt(v) + eps, which near
// g = 0 turns an absolute error d of g into ~d / eps of the update: eps 1e-3 keeps that small.
template <class T>
bool check_training(fastmlp::nn::Optimizer kind, int64_t batch, Rng& rng) {
  using namespace fastmlp::nn;
  OptimizerConfig o{kind, 0.05, 0.0, false, 0.0, 0.9, 0.999, 1e-3, 0.99};
  const int steps = 2;
  TrainState<T> st;
  RefNet ref;
  auto init = [&](std::vector<T>* w, std::vector<double>* wd, int64_t n, double scale) {
    for (int64_t i = 0; i < n; ++i) {
      w->push_back(T(rng.uniform(-scale, scale)));
      wd->push_back(double(w->back()));
    }
  };
  init(&st.w0, &ref.w0, kIn * kHid, 1 / std::sqrt(double(kIn)));
  init(&st.b0, &ref.b0, kHid, 0.1);
  init(&st.w1, &ref.w1, kHid * kOut, 1 / std::sqrt(double(kHid)));
  init(&st.b1, &ref.b1, kOut, 0.1);
  std::vector<T> x, y;
  std::vector<double> xd, yd;
  init(&x, &xd, batch * kIn, 1);
  init(&y, &yd, batch * kOut, 1);
  const TrainState<T> start = st;

  const std::vector<double> losses = run_fastmlp<T>(o, &st, x, y, batch, steps);
  RefSlots sw0, sb0, sw1, sb1;
  std::vector<double> ref_losses;
  for (int t = 1; t <= steps; ++t) {
    RefNet g;
    ref_losses.push_back(ref_gradients(ref, xd, yd, batch, &g));
    ref_update(o, t, &ref.w0, g.w0, &sw0);
    ref_update(o, t, &ref.b0, g.b0, &sb0);
    ref_update(o, t, &ref.w1, g.w1, &sw1);
    ref_update(o, t, &ref.b1, g.b1, &sb1);
  }
  const bool f32 = std::is_same_v<T, float>;
  const double rtol = f32 ? 1e-4 : 1e-11, loss_rtol = f32 ? 3e-5 : 1e-12;
  bool ok = true;
  std::string why;
  for (int t = 0; t < steps; ++t)
    if (!(std::fabs(losses[size_t(t)] - ref_losses[size_t(t)]) <= loss_rtol * ref_losses[size_t(t)]))
      ok = false, why = "loss of step " + std::to_string(t + 1);
  auto compare = [&](const std::vector<T>& got, const std::vector<T>& before,
                     const std::vector<double>& want, const char* name) {
    double largest = 0;
    for (size_t i = 0; i < got.size(); ++i)
      largest = std::max(largest, std::fabs(want[i] - double(before[i])));
    for (size_t i = 0; i < got.size(); ++i)
      if (!(std::fabs(double(got[i]) - want[i]) <= rtol * largest + tiny<T>()))
        ok = false, why = name;
  };
  compare(st.w0, start.w0, ref.w0, "w0");
  compare(st.b0, start.b0, ref.b0, "b0");
  compare(st.w1, start.w1, ref.w1, "w1");
  compare(st.b1, start.b1, ref.b1, "b1");
  // The small-network loops (batch 5) round as the active GEMM micro-kernel does: the same
  // bits with every layer through gemm().
  if (batch <= 64) {
    TrainState<T> other = start;
    setenv("FASTMLP_SMALL_PATH", "0", 1);
    run_fastmlp<T>(o, &other, x, y, batch, steps);
    unsetenv("FASTMLP_SMALL_PATH");
    auto bitwise = [&](const std::vector<T>& p, const std::vector<T>& q) {
      return p.size() == q.size() && std::memcmp(p.data(), q.data(), p.size() * sizeof(T)) == 0;
    };
    if (!(bitwise(st.w0, other.w0) && bitwise(st.b0, other.b0) && bitwise(st.w1, other.w1) &&
          bitwise(st.b1, other.b1)))
      ok = false, why = "small path and gemm path differ bitwise";
  }
  return expect(ok, std::string(fastmlp::isa::isa_name()) + " " + dtype_name<T>() +
                        " train_step " + kOptimizerNames[int(kind)] + " batch " +
                        std::to_string(batch) + (ok ? "" : ": " + why));
}

template <class T>
void check_dtype(Rng& rng) {
  const int64_t before = g_failed;
  const int64_t cases = check_gemm<T>(rng);
  for (int act = 0; act < fastmlp::nn::kNumActivations; ++act)
    check_activation<T>(Activation(act), rng);
  for (auto kind : {fastmlp::nn::Optimizer::sgd, fastmlp::nn::Optimizer::adam,
                    fastmlp::nn::Optimizer::rmsprop})
    for (int64_t batch : {int64_t(5), int64_t(70)}) check_training<T>(kind, batch, rng);
  const auto& a = fastmlp::isa::active();
  const auto& bk = std::is_same_v<T, float> ? a.s : a.d;
  std::printf("%-8s %s: %lld gemm cases (MR %lld NR %lld MC %lld KC %lld NC %lld), "
              "7 activations, 6 training steps: %s\n",
              fastmlp::isa::isa_name().c_str(), dtype_name<T>(), (long long)cases,
              (long long)bk.mr, (long long)bk.nr, (long long)bk.mc, (long long)bk.kc,
              (long long)bk.nc, g_failed == before ? "ok" : "FAILED");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // The default choice first: on AArch64 it must be the neon entry (unless FASTMLP_ISA says
    // otherwise), the point of the ARM check.
    const std::string chosen = fastmlp::isa::isa_name();
    std::printf("kernel_check: default instruction set %s; available:", chosen.c_str());
    const auto names = fastmlp::isa::available_isas();
    for (const auto& n : names) std::printf(" %s", n.c_str());
    std::printf("\n");
#if defined(__aarch64__)
    const char* env = std::getenv("FASTMLP_ISA");
    if (!env || !*env) expect(chosen == "neon", "AArch64 picks the neon entry, not " + chosen);
#endif
    fastmlp::parallel::set_num_threads(2);  // the split runs use two threads, wherever this runs
    Rng rng;
    std::vector<std::string> chosen_names(argv + 1, argv + argc);  // none given: all of them
    if (chosen_names.empty()) chosen_names = names;
    for (const auto& name : chosen_names) {
      fastmlp::isa::set_isa(name);
      check_dtype<float>(rng);
      check_dtype<double>(rng);
    }
  } catch (const std::exception& e) {
    expect(false, std::string("exception: ") + e.what());
  }
  std::printf("%lld passed, %lld failed\n", (long long)g_passed, (long long)g_failed);
  return g_failed == 0 ? 0 : 1;
}
