// Ref: PNG specification (ISO/IEC 15948) chunk layout, iTXt/tEXt chunks, CRC-32.
#include "charaforge/imaging/png_io.h"

#include "charaforge/engine/temp_files.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace charaforge::imaging {
namespace {

uint32_t crc32(const uint8_t* data, std::size_t n, uint32_t crc = 0) {
    static const auto table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    crc = ~crc;
    for (std::size_t i = 0; i < n; ++i)
        crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8)
        out.push_back(static_cast<uint8_t>(v >> s));
}

uint32_t get_u32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::vector<uint8_t> itxt_chunk(const std::string& keyword, const std::string& text) {
    std::vector<uint8_t> body(keyword.begin(), keyword.end());
    body.insert(body.end(), {0, 0, 0, 0, 0}); // NUL, uncompressed, method 0, empty language, empty translation
    body.insert(body.end(), text.begin(), text.end());
    std::vector<uint8_t> chunk;
    put_u32(chunk, static_cast<uint32_t>(body.size()));
    const char type[] = {'i', 'T', 'X', 't'};
    chunk.insert(chunk.end(), type, type + 4);
    chunk.insert(chunk.end(), body.begin(), body.end());
    put_u32(chunk, crc32(chunk.data() + 4, body.size() + 4));
    return chunk;
}

const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

} // namespace

std::vector<uint8_t> encode_png(const RgbImage& image, const TextChunks& text) {
    if (image.width <= 0 || image.height <= 0 ||
        image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
        throw std::runtime_error("png: image buffer does not match its size");
    cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data()));
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    std::vector<uint8_t> png;
    if (!cv::imencode(".png", bgr, png))
        throw std::runtime_error("png: encoding failed");
    // Insert the text chunks right after IHDR (8-byte signature + 25-byte IHDR chunk).
    const std::size_t after_ihdr = 8 + 8 + get_u32(png.data() + 8) + 4;
    std::vector<uint8_t> chunks;
    for (const auto& [k, v] : text) {
        if (k.empty() || k.size() > 79)
            throw std::runtime_error("png: text keyword must have 1 to 79 characters: '" + k + "'");
        auto c = itxt_chunk(k, v);
        chunks.insert(chunks.end(), c.begin(), c.end());
    }
    png.insert(png.begin() + static_cast<long>(after_ihdr), chunks.begin(), chunks.end());
    return png;
}

void write_png_atomic(const std::string& path, const RgbImage& image, const TextChunks& text) {
    const auto png = encode_png(image, text);
    // Only a regular file may be replaced: renaming over a device node, FIFO or socket would destroy it,
    // and a directory cannot hold an image.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw std::runtime_error("png: " + path + ": exists and is not a regular file; refusing to replace it");
    const std::string tmp = engine::unique_temp_name(path);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::runtime_error("png: " + path + ": cannot create: " + std::strerror(errno));
    std::size_t done = 0;
    while (done < png.size()) {
        ssize_t n = ::write(fd, png.data() + done, png.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw std::runtime_error("png: " + path + ": write failed: " + std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw std::runtime_error("png: " + path + ": could not be saved: " + std::strerror(err));
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

TextChunks read_png_text(const std::vector<uint8_t>& png) {
    if (png.size() < 8 || std::memcmp(png.data(), kSignature, 8) != 0)
        throw std::runtime_error("png: not a PNG file");
    TextChunks text;
    std::size_t pos = 8;
    while (pos + 12 <= png.size()) {
        const uint32_t len = get_u32(png.data() + pos);
        if (len > png.size() - pos - 12)
            throw std::runtime_error("png: chunk runs past the end of the file");
        const std::string type(reinterpret_cast<const char*>(png.data() + pos + 4), 4);
        const uint8_t* body = png.data() + pos + 8;
        if (type == "tEXt" || type == "iTXt") {
            const auto* nul = static_cast<const uint8_t*>(std::memchr(body, 0, len));
            if (nul) {
                std::string key(reinterpret_cast<const char*>(body), static_cast<std::size_t>(nul - body));
                std::size_t off = static_cast<std::size_t>(nul - body) + 1;
                if (type == "iTXt") {
                    // compression flag, method, language tag NUL, translated keyword NUL
                    const bool compressed = off < len && body[off] != 0;
                    off += 2;
                    for (int field = 0; field < 2 && off <= len; ++field) {
                        const auto* z = static_cast<const uint8_t*>(std::memchr(body + off, 0, len - off));
                        off = z ? static_cast<std::size_t>(z - body) + 1 : len + 1;
                    }
                    if (!compressed && off <= len)
                        text[key] = std::string(reinterpret_cast<const char*>(body + off), len - off);
                } else {
                    text[key] = std::string(reinterpret_cast<const char*>(body + off), len - off);
                }
            }
        }
        if (type == "IEND")
            break;
        pos += 12 + len;
    }
    return text;
}

RgbImage read_png(const std::string& path, TextChunks* text) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("png: " + path + ": cannot open");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    cv::Mat bgr = cv::imdecode(bytes, cv::IMREAD_COLOR);
    if (bgr.empty())
        throw std::runtime_error("png: " + path + ": cannot decode");
    if (text)
        *text = read_png_text(bytes);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    RgbImage img;
    img.width = rgb.cols;
    img.height = rgb.rows;
    img.rgb.assign(rgb.data, rgb.data + rgb.total() * 3);
    return img;
}

} // namespace charaforge::imaging
