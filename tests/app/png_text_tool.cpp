// The text chunks of a PNG for the CLI end-to-end scripts, which cannot read PNGs themselves:
//   png_text_tool FILE KEYWORD   prints the text of chunk KEYWORD (exit 1 when the file has none).
#include "charaforge/imaging/png_io.h"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: png_text_tool FILE KEYWORD\n");
        return 2;
    }
    try {
        charaforge::imaging::TextChunks text;
        charaforge::imaging::read_png(argv[1], &text);
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
