// charaforge-spm-probe MODEL: loads a serialized SentencePiece model and runs every code point of the Basic
// Multilingual Plane (and a few beyond) through its normaliser and encoder, then exits. The engine runs it
// in a short-lived child process before it loads a tokenizer file it has not seen (see spm_probe.h):
// libsentencepiece trusts the model's tables, and a damaged normalisation table makes it read wild memory,
// which must kill this process, not the studio.
// Exit status: 0 the model loads and encodes; 3 SentencePiece rejects it (its message on stdout);
// 2 usage or I/O error. Killed by a signal: it crashed.
#include "charaforge/engine/request_validation.h"

#include <sentencepiece_processor.h>

#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace {

// Lines of text that together hold every BMP code point (no surrogates) and some of the planes above, plus
// prompt-like text, so that every entry of the normalisation table's first levels is looked up.
std::vector<std::string> probe_texts() {
    std::vector<std::string> texts = {
        "<character_1><n>miku</n><hair>long hair, twintails</hair></character_1>", "Hello  world\t\n",
        "ｆｕｌｌｗｉｄｔｈ ①②③ ﬁ ㍻ é ñ ß 日本語 한국어 العربية 😀👍🏽", ""};
    std::string line;
    for (char32_t c = 1; c < 0x10000; ++c) {
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        charaforge::engine::append_utf8(line, c);
        if (c % 512 == 0) {
            texts.push_back(std::move(line));
            line.clear();
        }
    }
    for (char32_t c = 0x10000; c < 0x30000; c += 97)
        charaforge::engine::append_utf8(line, c);
    texts.push_back(std::move(line));
    return texts;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cout << "usage: charaforge-spm-probe MODEL\n";
        return 2;
    }
    // A model that makes the library loop or allocate without bound is a failure too.
    const rlimit cpu{30, 30};
    setrlimit(RLIMIT_CPU, &cpu);
    const rlimit memory{rlim_t{8} << 30, rlim_t{8} << 30};
    setrlimit(RLIMIT_AS, &memory);

    std::ifstream in(argv[1], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    if (!in.good() && !in.eof()) {
        std::cout << "cannot read " << argv[1] << "\n";
        return 2;
    }
    sentencepiece::SentencePieceProcessor sp;
    if (auto status = sp.LoadFromSerializedProto(bytes); !status.ok()) {
        std::cout << status.ToString() << "\n";
        return 3;
    }
    for (const auto& text : probe_texts()) {
        std::vector<int> ids;
        if (auto status = sp.Encode(text, &ids); !status.ok()) {
            std::cout << status.ToString() << "\n";
            return 3;
        }
        std::string back;
        if (auto status = sp.Decode(ids, &back); !status.ok()) {
            std::cout << status.ToString() << "\n";
            return 3;
        }
    }
    std::cout << "ok " << sp.GetPieceSize() << "\n";
    return 0;
}
