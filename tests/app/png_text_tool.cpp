// The text chunks and pixels of a PNG for the CLI end-to-end scripts, which cannot read PNGs themselves:
//   png_text_tool FILE KEYWORD         prints the text of chunk KEYWORD (exit 1 when the file has none);
//   png_text_tool FILE --pixels OUT    writes "WIDTHxHEIGHT\n" and the decoded RGB bytes to OUT (compare them
//                                      with file(SHA256): the files' own bytes differ with their records).
#include "charaforge/imaging/png_io.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
    const bool pixels = argc == 4 && std::strcmp(argv[2], "--pixels") == 0;
    if (argc != 3 && !pixels) {
        std::fprintf(stderr, "usage: png_text_tool FILE KEYWORD | png_text_tool FILE --pixels OUT\n");
        return 2;
    }
    try {
        charaforge::imaging::TextChunks text;
        const auto image = charaforge::imaging::read_png(argv[1], &text);
        if (pixels) {
            std::ofstream out(argv[3], std::ios::binary);
            const std::string size = std::to_string(image.width) + "x" + std::to_string(image.height) + "\n";
            out.write(size.data(), static_cast<std::streamsize>(size.size()));
            out.write(reinterpret_cast<const char*>(image.rgb.data()), static_cast<std::streamsize>(image.rgb.size()));
            if (!out) {
                std::fprintf(stderr, "%s: cannot write\n", argv[3]);
                return 1;
            }
            return 0;
        }
        const auto it = text.find(argv[2]);
        if (it == text.end()) {
            std::fprintf(stderr, "%s: no text chunk '%s'\n", argv[1], argv[2]);
            return 1;
        }
        std::fwrite(it->second.data(), 1, it->second.size(), stdout);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", argv[1], e.what());
        return 1;
    }
}
