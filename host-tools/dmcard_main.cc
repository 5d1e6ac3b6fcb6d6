// dmcard: host-side tool (placeholder entry point; commands land below).
#include <cstdio>

int main() {
  std::puts("dmcard");
  return 0;
}
