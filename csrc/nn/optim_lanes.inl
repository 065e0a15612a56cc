// Adam's vector loop written once over a traits type S (vector V, lanes W, load, store, set1,
// add, sub, mul, div, sqrt). NOT a normal header: each optim_lanes_<isa>.cpp includes it inside
// its own anonymous namespace after defining its traits, so each ISA compiles its own copy with
// its own flags (the ODR trap, reference/ENGINEERING.md §2).
//
// Each vector statement loads what the scalar statement of adam_step (optim.cpp) reads, after
// the previous store, and does the same operations in the same order: the result is the scalar
// loop's bit for bit, even when slots alias.
template <class S, int kDecay>
int64_t adam_loop(typename S::T* param, const typename S::T* grad, typename S::T* m,
                  typename S::T* v, int64_t lo, int64_t hi, const AdamConsts<typename S::T>& c) {
  const auto shrink = S::set1(c.shrink), wd = S::set1(c.wd), b1 = S::set1(c.b1);
  const auto omb1 = S::set1(c.one_minus_b1), b2 = S::set1(c.b2), omb2 = S::set1(c.one_minus_b2);
  const auto bc2 = S::set1(c.bias_correction2_sqrt), eps = S::set1(c.eps);
  const auto step_size = S::set1(c.step_size);
  int64_t i = lo;
  for (; i + S::W <= hi; i += S::W) {
    if constexpr (kDecay == int(AdamDecay::decoupled))
      S::store(param + i, S::mul(S::load(param + i), shrink));
    auto g = S::load(grad + i);
    if constexpr (kDecay == int(AdamDecay::coupled)) g = S::add(g, S::mul(wd, S::load(param + i)));
    S::store(m + i, S::mul(S::load(m + i), b1));
    S::store(m + i, S::add(S::load(m + i), S::mul(omb1, g)));
    S::store(v + i, S::mul(S::load(v + i), b2));
    S::store(v + i, S::add(S::load(v + i), S::mul(S::mul(omb2, g), g)));
    const auto denom = S::add(S::div(S::sqrt(S::load(v + i)), bc2), eps);
    const auto update = S::mul(step_size, S::div(S::load(m + i), denom));
    S::store(param + i, S::sub(S::load(param + i), update));
  }
  return i;
}

template <class S>
int64_t adam_lanes_impl(typename S::T* param, const typename S::T* grad, typename S::T* m,
                        typename S::T* v, int64_t lo, int64_t hi,
                        const AdamConsts<typename S::T>& c, AdamDecay decay) {
  switch (decay) {
    case AdamDecay::decoupled:
      return adam_loop<S, int(AdamDecay::decoupled)>(param, grad, m, v, lo, hi, c);
    case AdamDecay::coupled:
      return adam_loop<S, int(AdamDecay::coupled)>(param, grad, m, v, lo, hi, c);
    default:
      return adam_loop<S, int(AdamDecay::none)>(param, grad, m, v, lo, hi, c);
  }
}
