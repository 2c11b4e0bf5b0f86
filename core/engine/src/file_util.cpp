#include "file_util.h"

#include "charaforge/engine/error.h"
#include "charaforge/engine/ppm.h"
#include "charaforge/engine/temp_files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace charaforge::engine {

void write_file_atomic(const std::string& path, std::string_view data) {
    // Only a regular file may be replaced: renaming over a device node, FIFO or socket would destroy it.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw EngineError("file: " + path + ": exists and is not a regular file; refusing to replace it");
    const std::string tmp = unique_temp_name(path);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw EngineError("file: " + path + ": cannot create: " + std::strerror(errno));
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw EngineError("file: " + path + ": write failed: " + std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(tmp.c_str());
        throw EngineError("file: " + path + ": flush failed: " + std::strerror(errno));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw EngineError("file: " + path + ": rename failed: " + std::strerror(err));
    }
    // The rename is durable only once the folder's entry is on disk too.
    const auto slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

std::vector<std::string> beside_executable(const std::string& name, std::initializer_list<const char*> subdirs) {
    std::error_code ec;
    const auto exe_dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
    std::vector<std::string> out;
    if (!ec)
        for (const char* rel : subdirs)
            out.push_back((exe_dir / rel / name).lexically_normal().string());
    return out;
}

std::string read_file(const std::string& path) {
    // Only regular files: a FIFO or a device would block or never end. O_NONBLOCK keeps the open of a FIFO
    // from waiting for a writer.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        throw EngineError("file: " + path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw EngineError("file: " + path + ": not a regular file");
    }
    std::string out;
    char buf[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            throw EngineError("file: " + path + ": read failed: " + std::strerror(err));
        }
        if (n == 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

void write_ppm(const std::string& path, const Image& image) {
    std::ofstream f(path, std::ios::binary);
    f << "P6\n" << image.width << " " << image.height << "\n255\n";
    f.write(reinterpret_cast<const char*>(image.rgb.data()), static_cast<std::streamsize>(image.rgb.size()));
    if (!f)
        throw std::runtime_error("cannot write " + path);
}

} // namespace charaforge::engine
