#pragma once
// Command-line helpers of the benchmark programs (charaforge-bench, charaforge-memory-bench): a usage error exits 2
// naming the program and the source file whose top comment documents its options.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace charaforge::bench {

struct Usage {
    const char* program; // "charaforge-bench"
    const char* source;  // "tools/bench/bench_main.cpp"
};

[[noreturn]] inline void usage_error(const Usage& u, const std::string& what) {
    std::cerr << u.program << ": " << what << "\n(see the comment at the top of " << u.source << ")\n";
    std::exit(2);
}

// "a,b,,c" -> {"a", "b", "c"}
inline std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty())
            out.push_back(item);
    return out;
}

inline int64_t to_int(const Usage& u, const std::string& flag, const std::string& v) {
    try {
        std::size_t pos = 0;
        const long long n = std::stoll(v, &pos);
        if (pos != v.size() || n < 0)
            throw std::invalid_argument(v);
        return n;
    } catch (const std::exception&) {
        usage_error(u, flag + ": '" + v + "' is not a non-negative integer");
    }
}

inline std::vector<int64_t> to_ints(const Usage& u, const std::string& flag, const std::string& v) {
    std::vector<int64_t> out;
    for (const auto& s : split(v))
        out.push_back(to_int(u, flag, s));
    return out;
}

} // namespace charaforge::bench
