#include "impl.h"

namespace dwconv_bench {

namespace {

// "dwconv": the kernel Plan::create picks (per-workload where the build has one);
// "dwconv_general": the general kernel that serves the shape, what a shape without a kernel of
// its own runs.
class DwconvImpl : public Impl {
 public:
  explicit DwconvImpl(bool general) : general_(general) {}
  std::string name() const override { return general_ ? "dwconv_general" : "dwconv"; }
  std::string prepare(const dwconv::Problem &p, int threads, const float *filter) override {
    dwconv::Problem q = p;
    q.num_threads = threads;
    dwconv::Status s = general_ ? dwconv::Plan::create_general(q, &plan_) : dwconv::Plan::create(q, &plan_);
    filter_ = filter;
    return s.ok() ? "" : s.message();
  }
  void run(const float *input, float *output) override { plan_.run(input, filter_, nullptr, output); }
  std::string detail() const override {
    return std::string(plan_.kernel_name()) + " (" + dwconv::isa_name(dwconv::active_isa()) + ")";
  }

 private:
  bool general_;
  dwconv::Plan plan_;
  const float *filter_ = nullptr;
};

class NaiveImpl : public Impl {
 public:
  std::string name() const override { return "naive"; }
  std::string prepare(const dwconv::Problem &p, int threads, const float *filter) override {
    if (threads != 1) return "the naive loop is single-threaded";
    p_ = p;
    filter_ = filter;
    return "";
  }
  void run(const float *input, float *output) override {
    dwconv::reference_depthwise_conv2d(p_, input, filter_, nullptr, output);
  }

 private:
  dwconv::Problem p_;
  const float *filter_ = nullptr;
};

}  // namespace

std::unique_ptr<Impl> make_dwconv(bool general) { return std::make_unique<DwconvImpl>(general); }
std::unique_ptr<Impl> make_naive() { return std::make_unique<NaiveImpl>(); }

std::vector<std::unique_ptr<Impl>> all_impls() {
  std::vector<std::unique_ptr<Impl>> v;
  v.push_back(make_dwconv(false));
  v.push_back(make_dwconv(true));
  if (auto p = make_onednn()) v.push_back(std::move(p));
  if (auto p = make_xnnpack()) v.push_back(std::move(p));
  v.push_back(make_naive());
  return v;
}

}  // namespace dwconv_bench
