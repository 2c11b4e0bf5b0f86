// SentencePiece models are checked in a child process (spm_probe.h): a damaged model is a clean error that
// names the file, never a crash of the process that loads it, and the verdict is cached by content hash.
#include "charaforge/engine/error.h"
#include "sha256.h"
#include "spm_probe.h"
#include "text_test_models.h"
#include "tokenizer.h"

#include "core/engine/test_util.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace charaforge::engine;

namespace {

using charaforge::test::TempDir;

// Sets an environment variable for the life of the object.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name))
            old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

// Just enough of the protobuf wire format to rewrite one length-delimited field of a message.
struct Field {
    uint64_t tag;
    std::string value; // the raw bytes of a varint/fixed field, the payload of a length-delimited one
};

uint64_t read_varint(const std::string& b, std::size_t& i) {
    uint64_t v = 0;
    for (int shift = 0; i < b.size(); shift += 7) {
        const auto c = static_cast<uint8_t>(b[i++]);
        v |= uint64_t(c & 0x7F) << shift;
        if (c < 0x80)
            return v;
    }
    throw std::runtime_error("truncated varint");
}

void write_varint(std::string& out, uint64_t v) {
    do {
        const auto c = static_cast<uint8_t>(v & 0x7F);
        v >>= 7;
        out.push_back(static_cast<char>(v ? c | 0x80 : c));
    } while (v);
}

std::vector<Field> parse(const std::string& b) {
    std::vector<Field> out;
    for (std::size_t i = 0; i < b.size();) {
        const uint64_t tag = read_varint(b, i);
        const std::size_t start = i;
        switch (tag & 7) {
        case 0:
            read_varint(b, i);
            out.push_back({tag, b.substr(start, i - start)});
            break;
        case 1:
            i += 8;
            out.push_back({tag, b.substr(start, 8)});
            break;
        case 5:
            i += 4;
            out.push_back({tag, b.substr(start, 4)});
            break;
        case 2: {
            const auto n = read_varint(b, i);
            out.push_back({tag, b.substr(i, n)});
            i += n;
            break;
        }
        default:
            throw std::runtime_error("unexpected wire type");
        }
    }
    return out;
}

std::string serialize(const std::vector<Field>& fields) {
    std::string out;
    for (const auto& f : fields) {
        write_varint(out, f.tag);
        if ((f.tag & 7) == 2)
            write_varint(out, f.value.size());
        out += f.value;
    }
    return out;
}

// The XLM-R-style test tokenizer (NFKC, so it carries a precompiled normalisation table) with the table's
// trie replaced by random bytes. Its 4-byte size header is kept, so SentencePiece's own size check passes
// and the library walks the garbage trie. ModelProto field 3 is normalizer_spec; its field 2 is
// precompiled_charsmap.
std::string damaged_xlmr_model() {
    auto top = parse(train_tiny_xlmr_tokenizer());
    bool damaged = false;
    for (auto& f : top) {
        if (f.tag != (3 << 3 | 2))
            continue;
        auto spec = parse(f.value);
        for (auto& g : spec)
            if (g.tag == (2 << 3 | 2) && g.value.size() > 64) {
                std::mt19937 rng(7);
                for (std::size_t i = 4; i < g.value.size(); ++i)
                    g.value[i] = static_cast<char>(rng() & 0xFF);
                damaged = true;
            }
        f.value = serialize(spec);
    }
    if (!damaged)
        throw std::runtime_error("the test tokenizer has no precompiled_charsmap to damage");
    return serialize(top);
}

// An intact model whose bytes no other test uses (an unknown field appended: protobuf keeps and ignores it).
std::string unseen_intact_model(uint64_t salt) {
    auto fields = parse(train_tiny_xlmr_tokenizer());
    std::string v;
    write_varint(v, salt);
    fields.push_back({uint64_t{999} << 3 | 0, v});
    return serialize(fields);
}

void write(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const EngineError& e) {
        return e.what();
    }
    return {};
}

} // namespace

TEST(Sha256, MatchesTheFipsExamples) {
    auto h = [](const std::string& s) { return sha256_hex({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); };
    EXPECT_EQ(h(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(h("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(h("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(h(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // Around the block boundary the length field fits into the last block or needs one more (values from
    // coreutils' sha256sum).
    EXPECT_EQ(h(std::string(55, 'x')), "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
    EXPECT_EQ(h(std::string(56, 'x')), "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
    EXPECT_EQ(h(std::string(64, 'x')), "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
    EXPECT_EQ(h(std::string(119, 'x')), "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c");
}

// The damaged model really kills SentencePiece (so the tests below are meaningful): the probe, which is
// nothing but libsentencepiece loading and encoding, dies by a signal on it.
TEST(SpmProbe, TheDamagedModelCrashesSentencePieceItself) {
    TempDir dir;
    const auto model = dir.path() / "sentencepiece.bpe.model";
    write(model, damaged_xlmr_model());
    const int status = std::system((sentencepiece_probe_path() + " " + model.string() + " > /dev/null 2>&1").c_str());
    ASSERT_NE(status, -1);
    EXPECT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) > 128))
        << "the probe was expected to crash; wait status " << status;
    write(model, train_tiny_xlmr_tokenizer());
    EXPECT_EQ(std::system((sentencepiece_probe_path() + " " + model.string() + " > /dev/null 2>&1").c_str()), 0);
}

TEST(SpmProbe, ADamagedTokenizerFileIsAnErrorNamingTheFileNotACrash) {
    TempDir dir;
    ScopedEnv cache("XDG_CACHE_HOME", (dir.path() / "cache").string());
    const auto model = dir.path() / "sentencepiece.bpe.model";
    const auto bad = damaged_xlmr_model();
    write(model, bad);
    const auto message = error_of([&] { XlmrTokenizer::from_file(model.string()); });
    EXPECT_NE(message.find("jina: " + model.string() + ": SentencePiece crashed on this model"), std::string::npos)
        << message;
    EXPECT_NE(message.find("signal"), std::string::npos) << message;
    // The same bytes reached through a folder, and embedded in a weights file, are named as such.
    EXPECT_NE(error_of([&] { XlmrTokenizer::from_folder(dir.path().string()); }).find(model.string()),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  GemmaTokenizer::from_bytes(bad, 512, "the spiece_model tensor of m.safetensors");
              }).find("gemma3: the spiece_model tensor of m.safetensors: SentencePiece crashed"),
              std::string::npos);

    // The verdict is cached by content hash: with no probe to run, the same bytes get the same answer.
    const auto hash = sha256_hex({reinterpret_cast<const uint8_t*>(bad.data()), bad.size()});
    EXPECT_TRUE(fs::is_regular_file(dir.path() / "cache" / "charaforge" / "sentencepiece-checks" / hash));
    ScopedEnv no_probe("CHARAFORGE_SPM_PROBE", (dir.path() / "no-such-probe").string());
    EXPECT_EQ(error_of([&] { XlmrTokenizer::from_file(model.string()); }), message);
}

TEST(SpmProbe, AnIntactModelIsCheckedOnceThenLoadedFromTheCache) {
    TempDir dir;
    ScopedEnv cache("XDG_CACHE_HOME", (dir.path() / "cache").string());
    const auto bytes = unseen_intact_model(0x5EED0001);
    const auto model = dir.path() / "sentencepiece.bpe.model";
    write(model, bytes);
    {
        // Unseen bytes are never loaded in-process without the check.
        ScopedEnv no_probe("CHARAFORGE_SPM_PROBE", (dir.path() / "no-such-probe").string());
        const auto message = error_of([&] { XlmrTokenizer::from_file(model.string()); });
        EXPECT_NE(message.find("cannot find charaforge-spm-probe"), std::string::npos) << message;
        EXPECT_NE(message.find((dir.path() / "no-such-probe").string()), std::string::npos) << message;
    }
    const auto reference = XlmrTokenizer::from_bytes(train_tiny_xlmr_tokenizer());
    const std::string text = "<character_1><hair>long hair</hair></character_1> 日本語";
    EXPECT_EQ(XlmrTokenizer::from_file(model.string()).encode(text).ids, reference.encode(text).ids);
    const auto hash = sha256_hex({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    std::ifstream verdict(dir.path() / "cache" / "charaforge" / "sentencepiece-checks" / hash);
    std::string text_of_verdict((std::istreambuf_iterator<char>(verdict)), {});
    EXPECT_EQ(text_of_verdict, "charaforge-spm-probe 1\nok\n");
    // A tampered cache entry is ignored (the bytes are checked again), never trusted as a verdict.
    const auto other = unseen_intact_model(0x5EED0002);
    const auto other_hash = sha256_hex({reinterpret_cast<const uint8_t*>(other.data()), other.size()});
    write(dir.path() / "cache" / "charaforge" / "sentencepiece-checks" / other_hash, "garbage");
    write(model, other);
    EXPECT_EQ(XlmrTokenizer::from_file(model.string()).encode(text).ids, reference.encode(text).ids);
}

TEST(SpmProbe, AProbeThatFailsOtherwiseIsReportedAndNotCached) {
    TempDir dir;
    ScopedEnv cache("XDG_CACHE_HOME", (dir.path() / "cache").string());
    const auto bytes = unseen_intact_model(0x5EED0003);
    const auto model = dir.path() / "tokenizer.model";
    write(model, bytes);
    const auto fake = dir.path() / "fake-probe";
    write(fake, "#!/bin/sh\necho 'disk on fire'\nexit 5\n");
    fs::permissions(fake, fs::perms::owner_all);
    ScopedEnv probe("CHARAFORGE_SPM_PROBE", fake.string());
    const auto message = error_of([&] { XlmrTokenizer::from_file(model.string()); });
    EXPECT_NE(message.find("exit status 5: disk on fire"), std::string::npos) << message;
    const auto hash = sha256_hex({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    EXPECT_FALSE(fs::exists(dir.path() / "cache" / "charaforge" / "sentencepiece-checks" / hash));
}

TEST(SpmProbe, ARejectedModelGivesSentencePiecesReason) {
    TempDir dir;
    ScopedEnv cache("XDG_CACHE_HOME", (dir.path() / "cache").string());
    const auto model = dir.path() / "tokenizer.model";
    write(model, "this is not a protobuf at all");
    const auto message = error_of([&] { GemmaTokenizer::from_file(model.string()); });
    EXPECT_NE(message.find("gemma3: " + model.string() + ": SentencePiece cannot load this model"), std::string::npos)
        << message;
    write(model, "");
    EXPECT_NE(error_of([&] { GemmaTokenizer::from_file(model.string()); }).find("is empty"), std::string::npos);
}
