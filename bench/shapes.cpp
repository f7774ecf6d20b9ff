#include "shapes.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace dwconv_bench {

namespace {

std::vector<std::string> split(const std::string &line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

}  // namespace

std::vector<NamedShape> load_shapes(const std::string &path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open shape file " + path);
  return parse_shapes(f, path);
}

std::vector<NamedShape> parse_shapes(std::istream &f, const std::string &path) {
  std::vector<NamedShape> shapes;
  std::string line;
  int lineno = 0;
  bool header = false;
  while (std::getline(f, line)) {
    lineno++;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto fail = [&](const std::string &why) {
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": " + why);
    };
    std::vector<std::string> cols = split(line);
    if (!header) {
      if (cols.size() < 11 || cols[0] != "name") fail("expected the header name,N,H,W,C,M,KH,KW,stride,dilation,padding");
      header = true;
      continue;
    }
    if (cols.size() < 11) fail("expected at least 11 columns, got " + std::to_string(cols.size()));
    static const char *const kNumberColumns[9] = {"N", "H", "W", "C", "M", "KH", "KW", "stride", "dilation"};
    int v[9];
    for (int i = 0; i < 9; i++) {
      char *end = nullptr;
      long x = std::strtol(cols[i + 1].c_str(), &end, 10);
      if (cols[i + 1].empty() || *end != '\0' || x < 1 || x > (1 << 30))
        fail(std::string(kNumberColumns[i]) + " = '" + cols[i + 1] + "' is not a number from 1 to 2^30");
      v[i] = static_cast<int>(x);
    }
    NamedShape s;
    s.name = cols[0];
    s.origin = cols.size() > 11 ? cols[11] : "";
    dwconv::Problem &p = s.problem;
    p.input = {v[0], v[1], v[2], v[3]};
    p.filter = {v[5], v[6], v[3], v[4]};
    p.params.stride_h = p.params.stride_w = v[7];
    p.params.dilation_h = p.params.dilation_w = v[8];
    if (cols[10] == "SAME") p.params.padding = dwconv::Padding::kSame;
    else if (cols[10] == "VALID") p.params.padding = dwconv::Padding::kValid;
    else fail("padding must be SAME or VALID, got '" + cols[10] + "'");
    dwconv::Status st = dwconv::compute_output_shape(p.input, p.filter, p.params, &p.output);
    if (st.ok()) st = dwconv::validate(p);  // every limit the kernels have, before any allocation
    if (!st.ok()) fail(s.name + ": " + st.message());
    shapes.push_back(s);
  }
  if (!header) throw std::runtime_error(path + ": no header line");
  if (shapes.empty()) throw std::runtime_error(path + ": no shapes (only the header)");
  return shapes;
}

double flops(const dwconv::Problem &p) {
  return 2.0 * p.output.n * p.output.h * p.output.w * p.output.c * p.filter.kh * p.filter.kw;
}

double bytes(const dwconv::Problem &p) {
  return 4.0 * (p.input.n * p.input.h * p.input.w * p.input.c +
                p.filter.kh * p.filter.kw * p.filter.c * p.filter.m +
                p.output.n * p.output.h * p.output.w * p.output.c);
}

}  // namespace dwconv_bench
