// Adam's and RMSprop's vector loops written once over a traits type S (vector V, lanes W, load,
// store, set1, add, sub, mul, div, sqrt). NOT a normal header: each optim_lanes_<isa>.cpp
// includes it inside its own anonymous namespace after defining its traits, so each ISA
// compiles its own copy with its own flags (the ODR rule, docs/isa.md).
//
// Each vector statement loads what the scalar statement of adam_step (optim.cpp) reads, after
// the previous store, and does the same operations in the same order: the result is the scalar
// loop's bit for bit, even when slots alias.
// kUnitCorrection: bias_correction2_sqrt is 1 (scikit-learn's form), and x / 1 == x exactly,
// so the divide, a third of the loop's cost, is left out without changing a bit.
template <class S, int kDecay, bool kUnitCorrection>
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
    const auto root = S::sqrt(S::load(v + i));
    const auto denom = S::add(kUnitCorrection ? root : S::div(root, bc2), eps);
    const auto update = S::mul(step_size, S::div(S::load(m + i), denom));
    S::store(param + i, S::sub(S::load(param + i), update));
  }
  return i;
}

template <class S>
int64_t adam_lanes_impl(typename S::T* param, const typename S::T* grad, typename S::T* m,
                        typename S::T* v, int64_t lo, int64_t hi,
                        const AdamConsts<typename S::T>& c, AdamDecay decay) {
  auto run = [&](auto unit) {
    constexpr bool kUnit = decltype(unit)::value;
    switch (decay) {
      case AdamDecay::decoupled:
        return adam_loop<S, int(AdamDecay::decoupled), kUnit>(param, grad, m, v, lo, hi, c);
      case AdamDecay::coupled:
        return adam_loop<S, int(AdamDecay::coupled), kUnit>(param, grad, m, v, lo, hi, c);
      default:
        return adam_loop<S, int(AdamDecay::none), kUnit>(param, grad, m, v, lo, hi, c);
    }
  };
  return c.bias_correction2_sqrt == typename S::T(1) ? run(std::true_type{}) : run(std::false_type{});
}

// RMSprop, as rmsprop_step's scalar loop (optim.cpp), statement by statement.
template <class S, bool kDecay, bool kCentered, bool kMomentum>
int64_t rmsprop_loop(typename S::T* param, const typename S::T* grad, typename S::T* square_avg,
                     typename S::T* velocity, typename S::T* grad_avg, int64_t lo, int64_t hi,
                     const RmspropConsts<typename S::T>& c) {
  const auto wd = S::set1(c.wd), alpha = S::set1(c.alpha), oma = S::set1(c.one_minus_alpha);
  const auto eps = S::set1(c.eps), mom = S::set1(c.momentum), lr = S::set1(c.lr);
  int64_t i = lo;
  for (; i + S::W <= hi; i += S::W) {
    auto g = S::load(grad + i);
    if constexpr (kDecay) g = S::add(g, S::mul(wd, S::load(param + i)));
    S::store(square_avg + i, S::mul(S::load(square_avg + i), alpha));
    S::store(square_avg + i, S::add(S::load(square_avg + i), S::mul(S::mul(oma, g), g)));
    typename S::V update;
    if constexpr (kCentered) {
      const auto ga = S::load(grad_avg + i);
      S::store(grad_avg + i, S::add(ga, S::mul(oma, S::sub(g, ga))));
      const auto avg = S::load(grad_avg + i);
      update = S::div(g, S::add(S::sqrt(S::sub(S::load(square_avg + i), S::mul(avg, avg))), eps));
    } else {
      update = S::div(g, S::add(S::sqrt(S::load(square_avg + i)), eps));
    }
    if constexpr (kMomentum) {
      S::store(velocity + i, S::mul(S::load(velocity + i), mom));
      S::store(velocity + i, S::add(S::load(velocity + i), update));
      update = S::load(velocity + i);
    }
    S::store(param + i, S::sub(S::load(param + i), S::mul(lr, update)));
  }
  return i;
}

// rmsprop_loop with the options as compile-time flags: one branch each, outside the loop.
template <class S>
int64_t rmsprop_lanes_impl(typename S::T* param, const typename S::T* grad,
                           typename S::T* square_avg, typename S::T* velocity,
                           typename S::T* grad_avg, int64_t lo, int64_t hi,
                           const RmspropConsts<typename S::T>& c) {
  using std::false_type, std::true_type;
  auto run = [&](auto decay, auto centered, auto momentum) {
    return rmsprop_loop<S, decltype(decay)::value, decltype(centered)::value,
                        decltype(momentum)::value>(param, grad, square_avg, velocity, grad_avg,
                                                   lo, hi, c);
  };
  auto with_momentum = [&](auto decay, auto centered) {
    return c.with_momentum ? run(decay, centered, true_type{}) : run(decay, centered, false_type{});
  };
  auto with_centered = [&](auto decay) {
    return c.centered ? with_momentum(decay, true_type{}) : with_momentum(decay, false_type{});
  };
  return c.decay ? with_centered(true_type{}) : with_centered(false_type{});
}
