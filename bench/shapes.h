// The benchmark/tuning shape list (bench/shapes.csv): parsing into dwconv Problems.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "dwconv/dwconv.h"

namespace dwconv_bench {

struct NamedShape {
  std::string name;
  dwconv::Problem problem;  // output shape computed, dense strides, no bias, no activation
  std::string origin;
};

// Reads a CSV with the header name,N,H,W,C,M,KH,KW,stride,dilation,padding[,origin]; '#' lines
// are comments. Throws std::runtime_error naming the file and line of a bad row.
std::vector<NamedShape> load_shapes(const std::string &path);
// The same from a stream; errors name `path` as the source.
std::vector<NamedShape> parse_shapes(std::istream &in, const std::string &path);

// 2 * N * OH * OW * C * M * KH * KW
double flops(const dwconv::Problem &p);
// Compulsory traffic: input + filter + output, in bytes.
double bytes(const dwconv::Problem &p);

}  // namespace dwconv_bench
