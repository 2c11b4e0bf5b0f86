#include "spm_probe.h"

#include "charaforge/engine/error.h"
#include "file_util.h"
#include "sha256.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

extern char** environ;

namespace charaforge::engine {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCacheMagic = "charaforge-spm-probe 1";
constexpr auto kProbeTimeout = std::chrono::seconds(60);

struct Verdict {
    bool ok = false;
    std::string message; // why not, when !ok
};

fs::path cache_dir() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/')
        return fs::path(x) / "charaforge" / "sentencepiece-checks";
    if (const char* h = std::getenv("HOME"); h && *h == '/')
        return fs::path(h) / ".cache" / "charaforge" / "sentencepiece-checks";
    return {};
}

// The cached verdict for `hash`, if a well-formed one exists. A cache file is only a hint about bytes whose
// hash it is named by; anything that does not parse is ignored (and overwritten after the next probe).
std::optional<Verdict> cached(const std::string& hash) {
    const auto dir = cache_dir();
    std::error_code ec;
    if (dir.empty() || !fs::is_regular_file(dir / hash, ec) || fs::file_size(dir / hash, ec) > 8192)
        return std::nullopt;
    std::string text;
    try {
        text = read_file((dir / hash).string());
    } catch (const EngineError&) {
        return std::nullopt;
    }
    const std::string head = std::string(kCacheMagic) + "\n";
    if (text.rfind(head, 0) != 0)
        return std::nullopt;
    text.erase(0, head.size());
    if (text == "ok\n")
        return Verdict{true, {}};
    if (text.rfind("bad\n", 0) == 0 && text.size() > 4)
        return Verdict{false, text.substr(4)};
    return std::nullopt;
}

void remember(const std::string& hash, const Verdict& v) {
    const auto dir = cache_dir();
    if (dir.empty())
        return;
    std::error_code ec;
    fs::create_directories(dir, ec);
    try {
        write_file_atomic((dir / hash).string(),
                          std::string(kCacheMagic) + "\n" + (v.ok ? std::string("ok\n") : "bad\n" + v.message));
    } catch (const EngineError&) {
        // The cache is an optimisation: without it the file is probed again next time.
    }
}

std::string signal_name(int sig) {
    const char* d = strsignal(sig);
    return "signal " + std::to_string(sig) + (d ? std::string(", ") + d : std::string{});
}

struct TempFile {
    std::string path;
    ~TempFile() {
        if (!path.empty())
            ::unlink(path.c_str());
    }
};

struct Fd {
    int fd = -1;
    ~Fd() { close(); }
    void close() {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
};

// Runs the probe on `bytes`. Returns the verdict, or throws EngineError when there is none to cache (no
// probe, no temporary file, a time-out).
Verdict probe(const std::string& prefix, const std::string& bytes) {
    const std::string exe = sentencepiece_probe_path();
    const char* tmp = std::getenv("TMPDIR");
    TempFile file;
    std::string pattern = std::string(tmp && *tmp == '/' ? tmp : "/tmp") + "/charaforge-spm-XXXXXX";
    Fd out;
    out.fd = mkostemp(pattern.data(), O_CLOEXEC);
    if (out.fd < 0)
        throw EngineError(prefix + "cannot create a temporary file to check the SentencePiece model in " + pattern +
                          ": " + std::strerror(errno));
    file.path = pattern;
    for (std::size_t done = 0; done < bytes.size();) {
        const auto n = ::write(out.fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw EngineError(prefix + "cannot write " + file.path + ": " + std::strerror(errno));
        done += static_cast<std::size_t>(n);
    }
    out.close();

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw EngineError(prefix + "cannot start the SentencePiece check: " + std::strerror(errno));
    Fd read_end{fds[0]}, write_end{fds[1]};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.fd, 1);
    posix_spawn_file_actions_adddup2(&actions, write_end.fd, 2);
    std::string arg0 = exe, arg1 = file.path;
    char* argv[] = {arg0.data(), arg1.data(), nullptr};
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        throw EngineError(prefix + "cannot run " + exe + ": " + std::strerror(rc));
    write_end.close();

    std::string output;
    const auto deadline = std::chrono::steady_clock::now() + kProbeTimeout;
    bool timed_out = false;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{read_end.fd, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        char buf[1024];
        const auto n = ::read(read_end.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; // the probe closed its output: it has ended
        if (output.size() < 2048)
            output.append(buf, static_cast<std::size_t>(n));
    }
    if (timed_out)
        ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r'))
        output.pop_back();
    if (const auto nl = output.rfind('\n'); nl != std::string::npos)
        output.erase(0, nl + 1); // the probe's last line is its verdict
    if (timed_out)
        throw EngineError(prefix + "the SentencePiece check of this model did not finish within " +
                          std::to_string(kProbeTimeout.count()) + " s");
    if (WIFSIGNALED(status))
        return {false, "SentencePiece crashed on this model (" + signal_name(WTERMSIG(status)) +
                           ", in a separate check process): its tables are damaged or it is not a SentencePiece "
                           "model; replace it with an intact copy"};
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 0)
        return {true, {}};
    if (code == 3)
        return {false, "SentencePiece cannot load this model: " + output};
    throw EngineError(prefix + "the SentencePiece check " + exe + " failed (exit status " + std::to_string(code) +
                      (output.empty() ? std::string{} : ": " + output) + ")");
}

} // namespace

std::string sentencepiece_probe_path() {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("CHARAFORGE_SPM_PROBE"); env && *env) {
        candidates.push_back(env); // an explicit choice: nothing else is tried
    } else {
        // Beside the executable before the build tree, as for the bridge (tokenizer.cpp): an installed
        // program runs its own probe.
        candidates = beside_executable("charaforge-spm-probe", {".", "../lib/charaforge", "../libexec/charaforge"});
#if __has_include("spm_library_path.h")
#include "spm_library_path.h"
#endif
#ifdef CHARAFORGE_SPM_PROBE_PATH
        candidates.push_back(CHARAFORGE_SPM_PROBE_PATH);
#endif
    }
    std::error_code ec;
    std::string tried;
    for (const auto& c : candidates) {
        if (fs::is_regular_file(c, ec) && ::access(c.c_str(), X_OK) == 0)
            return c;
        tried += "\n    " + c;
    }
    throw EngineError("tokenizer: cannot find charaforge-spm-probe, the program that checks SentencePiece models "
                      "before they are loaded; tried:" +
                      tried);
}

void check_sentencepiece_model(const std::string& what, const std::string& source, const std::string& bytes) {
    static std::mutex mutex;
    static std::set<std::string> known_good;
    const std::string hash = sha256_hex({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    {
        std::lock_guard lock(mutex);
        if (known_good.count(hash))
            return;
    }
    const std::string prefix = what + ": " + source + ": ";
    auto verdict = cached(hash);
    if (!verdict) {
        verdict = probe(prefix, bytes);
        remember(hash, *verdict);
    }
    if (!verdict->ok)
        throw EngineError(prefix + verdict->message);
    std::lock_guard lock(mutex);
    known_good.insert(hash);
}

} // namespace charaforge::engine
