// Learning-rate schedules; mirrors backends/numpy.py scheduled_lr (its docstring has the
// formulas and how they relate to torch.optim.lr_scheduler and scikit-learn). A pure function
// of the 1-based update count t, in double, each operation in numpy.py's order.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace fastmlp::nn {

// Same order as fastmlp.names.SCHEDULES; Python passes the index.
enum class Schedule : int { constant, step, exponential, cosine, invscaling };
constexpr int kNumSchedules = 5;
constexpr const char* kScheduleNames[kNumSchedules] = {"constant", "step", "exponential", "cosine",
                                                       "invscaling"};

struct ScheduleConfig {  // as network.ScheduleConfig; Python has checked every field
  Schedule kind = Schedule::constant;
  int64_t step_size = 1;
  double gamma = 0.1;
  int64_t total_steps = 1, warmup_steps = 0;
  double min_lr = 0.0, power_t = 0.5;
};

// step: base gamma^((t-1) / step_size);  exponential: base gamma^(t-1);
// cosine: t <= w ? base (t / w) : min_lr + (base - min_lr) (1 + cos(pi min(1, (t-w)/(T-w)))) / 2;
// invscaling: base / t^power_t;  constant: base
inline double scheduled_lr(double base_lr, const ScheduleConfig& s, int64_t t) {
  constexpr double kPi = 3.141592653589793;  // math.pi
  switch (s.kind) {
    case Schedule::step:
      return base_lr * std::pow(s.gamma, static_cast<double>((t - 1) / s.step_size));
    case Schedule::exponential:
      return base_lr * std::pow(s.gamma, static_cast<double>(t - 1));
    case Schedule::cosine: {
      if (t <= s.warmup_steps)
        return base_lr * (static_cast<double>(t) / static_cast<double>(s.warmup_steps));
      const double progress = std::min(1.0, static_cast<double>(t - s.warmup_steps) /
                                                static_cast<double>(s.total_steps - s.warmup_steps));
      return s.min_lr + (base_lr - s.min_lr) * (1.0 + std::cos(kPi * progress)) / 2.0;
    }
    case Schedule::invscaling:
      return base_lr / std::pow(static_cast<double>(t), s.power_t);
    case Schedule::constant:
      break;
  }
  return base_lr;
}

}  // namespace fastmlp::nn
