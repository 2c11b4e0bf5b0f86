#include "charaforge/engine/error.h"
#include "core/engine/test_util.h"
#include "file_util.h"
#include "safetensors.h"
#include "weights.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <future>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace charaforge::engine;
using charaforge::test::TempDir;

namespace {

std::string header_file(const std::string& json, const std::string& data = {}) {
    std::string out;
    uint64_t len = json.size();
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    return out + json + data;
}

std::string error_of(const std::string& bytes) {
    try {
        parse_safetensors_bytes({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "bad.safetensors");
    } catch (const EngineError& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST(Safetensors, RoundTripKeepsDtypesShapesValuesAndMetadata) {
    TempDir dir;
    auto a = torch::arange(6, torch::kFloat32).view({2, 3});
    auto b = torch::tensor({1.5, -2.25}, torch::kBFloat16);
    auto c = torch::tensor({7, 8, 9}, torch::kInt64);
    write_safetensors(dir.file("x.safetensors"), {to_blob("a", a), to_blob("b.weight", b), to_blob("c", c)},
                      {{"format", "pt"}});
    SafetensorsFile f(dir.file("x.safetensors"));
    ASSERT_EQ(f.tensors().size(), 3u);
    EXPECT_EQ(f.metadata().at("format"), "pt");
    EXPECT_EQ(f.at("a").dtype, DType::F32);
    EXPECT_EQ(f.at("a").shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(f.at("b.weight").dtype, DType::BF16);
    EXPECT_TRUE(torch::equal(read_tensor(f, f.at("a")), a));
    EXPECT_TRUE(torch::equal(read_tensor(f, f.at("b.weight")), b));
    EXPECT_TRUE(torch::equal(read_tensor(f, f.at("c")), c));
    EXPECT_EQ(f.find("missing"), nullptr);
}

TEST(Safetensors, MissingKeyErrorNamesFileAndKey) {
    TempDir dir;
    write_safetensors(dir.file("x.safetensors"), {to_blob("a", torch::zeros({1}))});
    SafetensorsFile f(dir.file("x.safetensors"));
    try {
        (void)f.at("nope");
        FAIL() << "no error";
    } catch (const EngineError& e) {
        EXPECT_NE(std::string(e.what()).find("x.safetensors"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos);
    }
}

TEST(Safetensors, RejectsCorruptHeaders) {
    const std::string eight(8, '\0');
    EXPECT_NE(error_of("abc").find("shorter than"), std::string::npos);
    // Header length larger than the file.
    std::string big = header_file("{}");
    big[0] = 100;
    EXPECT_NE(error_of(big).find("past the end"), std::string::npos);
    // Absurd header length.
    std::string huge(8, '\xff');
    EXPECT_NE(error_of(huge).find("exceeds the limit"), std::string::npos);
    EXPECT_NE(error_of(header_file("{not json")).find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of(header_file("[1,2]")).find("not a JSON object"), std::string::npos);
    EXPECT_NE(error_of(header_file(R"({"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}})", "x"))
                  .find("unsupported dtype"),
              std::string::npos);
    EXPECT_NE(error_of(header_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "xxxx"))
                  .find("does not match"),
              std::string::npos);
    EXPECT_NE(
        error_of(header_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "xx")).find("past the data"),
        std::string::npos);
    EXPECT_NE(error_of(header_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "xxxx"))
                  .find("non-negative"),
              std::string::npos);
    EXPECT_NE(
        error_of(header_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", "xxxx")).find("begin > end"),
        std::string::npos);
    EXPECT_NE(error_of(header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                                   "xxxxxx"))
                  .find("overlap"),
              std::string::npos);
    EXPECT_NE(
        error_of(
            header_file(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,1]}})", "x"))
            .find("overflows"),
        std::string::npos);
    EXPECT_NE(error_of(header_file(R"({"__metadata__":{"k":1}})")).find("not a string"), std::string::npos);
    EXPECT_NE(error_of(header_file(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", "x")).find("dtype"),
              std::string::npos);
    // The message names the file and the tensor.
    EXPECT_NE(error_of(header_file(R"({"blocks.0.w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "xxxx"))
                  .find("bad.safetensors: tensor 'blocks.0.w'"),
              std::string::npos);
}

TEST(Safetensors, TruncatedFileOnDiskIsAnErrorNotACrash) {
    TempDir dir;
    write_safetensors(dir.file("x.safetensors"), {to_blob("a", torch::ones({64}))});
    auto bytes = read_file(dir.file("x.safetensors"));
    write_file_atomic(dir.file("cut.safetensors"), std::string_view(bytes).substr(0, bytes.size() - 10));
    EXPECT_THROW(SafetensorsFile f(dir.file("cut.safetensors")), EngineError);
    EXPECT_THROW(SafetensorsFile f(dir.file("absent.safetensors")), EngineError);
}

TEST(Safetensors, Float8FormatsDecodeToTheirDefinedValues) {
    // Values from the OCP 8-bit floating point specification (E4M3FN: bias 7, no inf; E5M2: bias 15).
    EXPECT_EQ(f8_e4m3fn_to_float(0x38), 1.0f);
    EXPECT_EQ(f8_e4m3fn_to_float(0x7e), 448.0f);
    EXPECT_EQ(f8_e4m3fn_to_float(0xb8), -1.0f);
    EXPECT_EQ(f8_e4m3fn_to_float(0x01), std::ldexp(1.0f, -9));
    EXPECT_TRUE(std::isnan(f8_e4m3fn_to_float(0x7f)));
    EXPECT_EQ(f8_e5m2_to_float(0x3c), 1.0f);
    EXPECT_EQ(f8_e5m2_to_float(0x7b), 57344.0f);
    EXPECT_EQ(f8_e5m2_to_float(0x01), std::ldexp(1.0f, -16));
    EXPECT_TRUE(std::isinf(f8_e5m2_to_float(0x7c)));
}

TEST(Safetensors, Float8TensorsAreReadAsData) {
    TempDir dir;
    TensorBlob blob{"w", DType::F8_E4M3, {3}, {0x38, 0x40, 0xb8}};
    write_safetensors(dir.file("f8.safetensors"), {blob});
    SafetensorsFile f(dir.file("f8.safetensors"));
    auto t = read_tensor(f, f.at("w"));
    EXPECT_TRUE(torch::equal(t, torch::tensor({1.0f, 2.0f, -1.0f})));
}

TEST(Safetensors, DuplicateTensorNamesAreRejected) {
    // Before: the JSON parser kept the last entry, and the first tensor silently vanished.
    const auto msg = error_of(header_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                          R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                          "xxxxxxxx"));
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'w' twice"), std::string::npos) << msg;
    // The same key in two different tensors' entries is not a duplicate tensor.
    EXPECT_EQ(error_of(header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                   "xxxxxxxx")),
              "");
}

TEST(Safetensors, AFifoOrDeviceIsRefusedWithoutWaiting) {
    // Before: open() of a FIFO blocked until a writer came (`inspect FIFO` hung for ever).
    TempDir dir;
    const auto fifo = dir.file("pipe.safetensors");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto refused = [&fifo](const std::function<void()>& f) {
        auto done = std::async(std::launch::async, [f] {
            try {
                f();
            } catch (const EngineError& e) {
                return std::string(e.what());
            }
            return std::string();
        });
        if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
            // Unblock the open so that the test can end, then report the hang.
            int fd = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK);
            if (fd >= 0)
                ::close(fd);
            done.wait();
            return std::string("hung");
        }
        return done.get();
    };
    EXPECT_NE(refused([&] { SafetensorsFile f(fifo); }).find("not a regular file"), std::string::npos);
    EXPECT_NE(refused([&] { read_file(fifo); }).find("not a regular file"), std::string::npos);
    EXPECT_NE(refused([] { SafetensorsFile f("/dev/zero"); }).find("not a regular file"), std::string::npos);
}

TEST(FileUtil, AtomicWriteRefusesToReplaceAFifoOrADirectory) {
    TempDir dir;
    const auto fifo = dir.file("out.fifo");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const auto sub = dir.file("sub");
    std::filesystem::create_directories(sub);
    for (const auto& target : {fifo, sub}) {
        try {
            write_file_atomic(target, "data");
            ADD_FAILURE() << target << " was replaced";
        } catch (const EngineError& e) {
            EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
        }
    }
    struct stat st {};
    ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_TRUE(std::filesystem::is_directory(sub));
}

TEST(FileUtil, ConcurrentAtomicWritesOfOneProcessUseDistinctTempFiles) {
    // With a pid-only temp name, two threads share one temp file and one rename finds it gone.
    TempDir dir;
    const auto path = dir.file("same.bin");
    const std::string data(1 << 16, 'x');
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                try {
                    write_file_atomic(path, data);
                } catch (const EngineError&) {
                    ++failures[t];
                }
            }
        });
    for (auto& th : threads)
        th.join();
    for (int f : failures)
        EXPECT_EQ(f, 0);
    EXPECT_EQ(read_file(path), data);
}
