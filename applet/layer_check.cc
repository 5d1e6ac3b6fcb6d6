// Linked by applet/CMakeLists.txt with every object of one card layer and only the layers below
// it: the build fails when a layer calls into a layer above it.
int main() { return 0; }
