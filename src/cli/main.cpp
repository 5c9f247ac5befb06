// xiaoxiang: the command-line door to every capability of the library.
#include <iostream>
#include <string>
#include <vector>

#include "command.hpp"

namespace {

void print_usage(std::ostream& out) {
  out << "usage: xiaoxiang <command> [options]\n\n"
         "Real-time order tracking for grocery delivery: geo tools, the simulator,\n"
         "the demo, replay and evaluation.\n\ncommands:\n";
  for (const auto& [name, c] : xiaoxiang::cli::commands())
    out << "  " << name << std::string(name.size() < 14 ? 14 - name.size() : 1, ' ') << c.summary
        << "\n";
  out << "\nRun 'xiaoxiang <command> --help' for the options of a command.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace xiaoxiang::cli;
  std::ios::sync_with_stdio(false);
  if (argc < 2) {
    print_usage(std::cerr);
    return exit_usage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(std::cout);
    return exit_ok;
  }
  const auto& table = commands();
  const auto found = table.find(name);
  if (found == table.end()) {
    std::cerr << "xiaoxiang: unknown command '" << name << "'\n";
    print_usage(std::cerr);
    return exit_usage;
  }
  invocation call{std::vector<std::string>(argv + 2, argv + argc), std::cin, std::cout, std::cerr};
  try {
    return found->second.run(call);
  } catch (const std::exception& e) {
    std::cerr << "xiaoxiang " << name << ": " << e.what() << "\n";
    return exit_failure;
  }
}
