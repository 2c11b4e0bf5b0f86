// PNG through libpng: pixels and tEXt/zTXt/iTXt text (compressed or not), CRCs checked by the codec.
// Ref: PNG specification (ISO/IEC 15948); libpng manual (png_set_text, png_get_text, memory I/O callbacks).
#include "charaforge/imaging/png_io.h"

#include "charaforge/engine/temp_files.h"

#include <png.h>

#include <cerrno>
#include <csetjmp>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace charaforge::imaging {
namespace {

// libpng reports errors by longjmp back into the function that set it up; the message is kept here and that
// function throws it as a C++ exception (no exception crosses libpng's C frames).
struct CodecState {
    std::string error;
    const std::vector<uint8_t>* in = nullptr;
    std::size_t pos = 0;
    std::vector<uint8_t>* out = nullptr;
};

CodecState& state(png_structp png) {
    return *static_cast<CodecState*>(png_get_error_ptr(png));
}

void on_error(png_structp png, png_const_charp message) {
    state(png).error = message ? message : "unknown error";
    png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {} // e.g. a bad CRC in a text chunk: libpng drops that chunk

void read_bytes(png_structp png, png_bytep data, png_size_t n) {
    CodecState& s = state(png);
    if (n > s.in->size() - s.pos)
        png_error(png, "the file ends inside a chunk");
    std::memcpy(data, s.in->data() + s.pos, n);
    s.pos += n;
}

void write_bytes(png_structp png, png_bytep data, png_size_t n) {
    state(png).out->insert(state(png).out->end(), data, data + n);
}

void flush_bytes(png_structp) {}

// Runs `f` (libpng calls) with libpng's error jump set here: false when libpng reported an error. `f` keeps no
// objects with destructors of its own (a jump skips them); what it fills lives in the caller.
template <class F> bool guarded(png_structp png, F&& f) {
    if (setjmp(png_jmpbuf(png)))
        return false;
    f();
    return true;
}

const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

void collect_text(png_structp png, png_infop info, TextChunks& text) {
    png_textp entries = nullptr;
    const int n = png_get_text(png, info, &entries, nullptr);
    for (int i = 0; i < n; ++i)
        text[entries[i].key] = std::string(
            entries[i].text ? entries[i].text : "",
            entries[i].compression >= PNG_ITXT_COMPRESSION_NONE ? entries[i].itxt_length : entries[i].text_length);
}

// Decodes `bytes`: the pixels as 8-bit RGB into `pixels` (when given) and every text chunk, before and after
// the image data, into `text`. Throws std::runtime_error with libpng's reason.
void decode(const std::vector<uint8_t>& bytes, RgbImage* pixels, TextChunks& text) {
    if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0)
        throw std::runtime_error("not a PNG file");
    CodecState s;
    s.in = &bytes;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    if (!png)
        throw std::runtime_error("out of memory");
    png_infop info = png_create_info_struct(png);
    png_infop end = info ? png_create_info_struct(png) : nullptr;
    RgbImage image;
    std::vector<png_bytep> rows;
    const bool ok = end && guarded(png, [&] {
                        png_set_read_fn(png, &s, read_bytes);
                        png_set_user_limits(png, 1u << 15, 1u << 15); // 32768 pixels a side at most
                        png_read_info(png, info);
                        png_set_expand(png);      // palette and low-bit grey to 8 bits, tRNS to alpha
                        png_set_strip_16(png);    // 16-bit samples to 8
                        png_set_strip_alpha(png); // our images are RGB
                        png_set_gray_to_rgb(png);
                        png_set_interlace_handling(png);
                        png_read_update_info(png, info);
                        image.width = static_cast<int>(png_get_image_width(png, info));
                        image.height = static_cast<int>(png_get_image_height(png, info));
                        if (png_get_rowbytes(png, info) != static_cast<png_size_t>(image.width) * 3)
                            png_error(png, "unsupported pixel layout");
                        image.rgb.resize(static_cast<std::size_t>(image.width) * image.height * 3);
                        rows.resize(static_cast<std::size_t>(image.height));
                        for (int y = 0; y < image.height; ++y)
                            rows[static_cast<std::size_t>(y)] =
                                image.rgb.data() + static_cast<std::size_t>(y) * image.width * 3;
                        png_read_image(png, rows.data());
                        png_read_end(png, end);
                        collect_text(png, info, text);
                        collect_text(png, end, text);
                    });
    png_destroy_read_struct(&png, &info, &end);
    if (!ok)
        throw std::runtime_error(s.error.empty() ? "out of memory" : s.error);
    if (pixels)
        *pixels = std::move(image);
}

} // namespace

std::vector<uint8_t> encode_png(const RgbImage& image, const TextChunks& text) {
    if (image.width <= 0 || image.height <= 0 ||
        image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
        throw std::runtime_error("png: image buffer does not match its size");
    for (const auto& [k, v] : text)
        if (k.empty() || k.size() > 79)
            throw std::runtime_error("png: text keyword must have 1 to 79 characters: '" + k + "'");
    std::vector<uint8_t> out;
    CodecState s;
    s.out = &out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    if (!png)
        throw std::runtime_error("png: out of memory");
    png_infop info = png_create_info_struct(png);
    std::vector<png_text> entries(text.size()); // sized before the jump point
    std::vector<png_bytep> rows(static_cast<std::size_t>(image.height));
    const bool ok =
        info && guarded(png, [&] {
            png_set_write_fn(png, &s, write_bytes, flush_bytes);
            png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
                         PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
            std::size_t i = 0;
            for (const auto& [k, v] : text) {
                png_text& e = entries[i++];
                e.compression = PNG_ITXT_COMPRESSION_NONE; // iTXt: UTF-8, readable by every tool without inflating
                e.key = const_cast<char*>(k.c_str());
                e.text = const_cast<char*>(v.c_str());
                e.itxt_length = v.size();
                e.lang = nullptr;
                e.lang_key = nullptr;
            }
            if (!entries.empty())
                png_set_text(png, info, entries.data(), static_cast<int>(entries.size()));
            for (int y = 0; y < image.height; ++y)
                rows[static_cast<std::size_t>(y)] =
                    const_cast<png_bytep>(image.rgb.data()) + static_cast<std::size_t>(y) * image.width * 3;
            png_set_rows(png, info, rows.data());
            png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
        });
    png_destroy_write_struct(&png, &info);
    if (!ok)
        throw std::runtime_error("png: encoding failed: " + (s.error.empty() ? std::string("out of memory") : s.error));
    return out;
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
    TextChunks text;
    try {
        decode(png, nullptr, text);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("png: ") + e.what());
    }
    return text;
}

RgbImage read_png(const std::string& path, TextChunks* text) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("png: " + path + ": cannot open");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    RgbImage img;
    TextChunks chunks;
    try {
        decode(bytes, &img, chunks);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error("png: " + path + ": cannot decode: " + e.what());
    }
    if (text)
        *text = std::move(chunks);
    return img;
}

} // namespace charaforge::imaging
