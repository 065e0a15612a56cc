// What every file of the _core binding shares: the ndarray types the entries accept and the
// small conversions from them to kernel arguments (check.hpp does the shape checks). Only the
// binding TUs include it, all compiled with the same baseline flags.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>

#include "check.hpp"
#include "nn/activations.hpp"
#include "nn/schedule.hpp"
#include "nn/train.hpp"

namespace fastmlp::binding {

namespace nb = nanobind;

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

// Safe for every entry that uses it: below the guard only array memory and C++ objects are
// touched; the ndarray handles stay owned by nanobind's argument casters, which hold the GIL.
using ReleaseGil = nb::call_guard<nb::gil_scoped_release>;

template <class A>
inline int64_t dim(const A& a, size_t i) { return static_cast<int64_t>(a.shape(i)); }

inline nn::Activation activation(int act) {
  return check::enum_index<nn::Activation>(act, nn::kNumActivations, "activation");
}

// The schedule, once its integer fields are safe to divide by (_core.ScheduleConfig's kind is
// checked when set; Python checks every field with messages naming it).
inline const nn::ScheduleConfig& checked(const nn::ScheduleConfig& s) {
  check::require(s.step_size >= 1 && s.total_steps >= 1 && s.warmup_steps >= 0
                     && (s.kind != nn::Schedule::cosine || s.warmup_steps < s.total_steps),
                 "bad schedule fields");
  return s;
}

// Labels index the output's columns inside the kernels (cross_entropy's one-hot term, class
// weights): one pass over them here keeps a bad label from reading or writing out of bounds.
template <class T>
inline nn::Target<T> target_of(const Labels& y, int64_t batch, int64_t n_out) {
  check::shape_is(y, "target", {batch});
  const int64_t* labels = y.data();
  bool in_range = true;
  for (int64_t i = 0; i < batch; ++i) in_range = in_range && labels[i] >= 0 && labels[i] < n_out;
  check::require(in_range, "target labels must lie in [0, n_out)");
  return {labels, nullptr};
}
template <class T>
inline nn::Target<T> target_of(const In<T>& y, int64_t batch, int64_t n_out) {
  check::shape_is(y, "target", {batch, n_out});
  return {nullptr, y.data()};
}

// The weight array's data, or null when it is empty ("not given"); otherwise it must have n entries.
template <class T>
const T* weights_or_null(const Weight<T>& w, const char* name, int64_t n) {
  if (w.size() == 0) return nullptr;
  check::shape_is(w, name, {n});
  return w.data();
}

// Registers the settings and result classes train_step and train_epoch use (binding_train.cpp).
void def_training_types(nb::module_& m);

// Registers train_step and train_epoch for T (binding_train.cpp).
template <class T>
void def_training(nb::module_& m);
extern template void def_training<float>(nb::module_& m);
extern template void def_training<double>(nb::module_& m);

}  // namespace fastmlp::binding
