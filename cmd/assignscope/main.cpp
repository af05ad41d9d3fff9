// Placeholder until the command-line wiring lands.
int main() { return 0; }
