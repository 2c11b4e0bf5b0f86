#pragma once
// A deterministic stand-in for the engine behind queue::Executor, shared by the runner tests and the test
// worker process. It follows engine::Pipeline::generate's contract on a one-number "latent": x0 = seed,
// x <- 3 x + 1 per step (mod a prime below 2^24, so that the fp32 checkpoint holds it exactly), image = 4x4
// pixels of x mod 251. Resuming from a saved state must give the same image as an uninterrupted run,
// exactly as the engine promises.
#include "charaforge/engine/error.h"
#include "queue/queue_runner.h"

#include <QThread>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace charaforge::test {

class FakeExecutor : public queue::Executor {
public:
    int oomAbove = 1 << 30;       // batches larger than this run out of memory
    int oomAtStep = 0;            // ... at this step (0: before the first)
    bool oomAtDecode = false;     // every batch runs out of memory decoding, after its last step
    int openDelayMs = 0;          // a slow model load
    int stepDelayMs = 0;          // a slow step
    std::function<void()> onOpen; // test hook, called in the middle of the load
    std::string notReady;         // checkReady() throws this (a misconfigured worker)
    std::vector<int> batchSizes;
    std::vector<int> resumeSteps;
    std::function<void(int step)> onStep; // test hook, called after each step
    QString opened;
    QList<QPair<QString, QString>> files; // what modelFiles() names (role, path), hashed for the records
    // Erase jobs: a "LaMa" that paints each hole pixel 255 - its value. A forward with a tile whose first pixel is
    // `poison` fails (a bad image: the scheduler must split it off); batches above `eraseOomAbove` tiles run out
    // of memory.
    QString lamaOpened;
    int poison = -1;
    int eraseOomAbove = 1 << 30;
    int eraseSuggested = 8;
    std::vector<int> eraseBatches;
    std::function<void()>
        onInpaint; // test hook, called at the start of each forward (scheduler thread) // what modelFiles() names (role, path), hashed for the records
    // The memory prediction: peak = predictBase + n * predictPerImage for a batch of n; budget 0 = unknown.
    qint64 budget = 0, predictBase = 0, predictPerImage = 0;
    bool lowMode = false;

    void checkReady() override {
        if (!notReady.empty())
            throw engine::EngineError(notReady);
    }
    void openModel(const QString& model) override {
        if (model.contains(QStringLiteral("missing")))
            throw engine::EngineError("model_folder: " + model.toStdString() + " has no transformer/");
        if (openDelayMs > 0) {
            QThread::msleep(openDelayMs / 2);
            if (onOpen)
                onOpen();
            QThread::msleep(openDelayMs - openDelayMs / 2);
        }
        opened = model;
    }
    int suggestBatch(const queue::JobSpec&) override { return 8; }
    void openLama(const QString& path) override {
        if (path.contains(QStringLiteral("missing")))
            throw engine::EngineError("lama: " + path.toStdString() + ": no such file");
        lamaOpened = path;
    }
    int suggestEraseBatch(int, int) override { return eraseSuggested; }
    std::vector<engine::LamaOutput> inpaint(const std::vector<const engine::LamaTile*>& tiles) override {
        eraseBatches.push_back(static_cast<int>(tiles.size()));
        if (onInpaint)
            onInpaint();
        if (static_cast<int>(tiles.size()) > eraseOomAbove)
            throw engine::OutOfMemory("lama: out of memory with " + std::to_string(tiles.size()) + " tiles");
        std::vector<engine::LamaOutput> out;
        for (const auto* t : tiles) {
            if (!t->rgb.empty() && t->rgb[0] == poison)
                throw engine::EngineError("lama: this tile cannot be erased");
            engine::LamaOutput o{t->width, t->height, t->rgb};
            for (std::size_t i = 0; i < t->mask.size(); ++i)
                if (t->mask[i] != 0)
                    for (int c = 0; c < 3; ++c)
                        o.rgb[i * 3 + c] = static_cast<uint8_t>(255 - o.rgb[i * 3 + c]);
            out.push_back(std::move(o));
        }
        return out;
    }
    qint64 predictPeak(const queue::JobSpec&, int n) override { return predictBase + n * predictPerImage; }
    qint64 memoryBudget() override { return budget; }
    bool lowMemoryMode() const override { return lowMode; }
    QList<QPair<QString, QString>> modelFiles() const override { return files; }

    static double advance(double x) { return std::fmod(3.0 * x + 1.0, 999983.0); }
    static engine::Image imageOf(double x) {
        return engine::Image{4, 4, std::vector<uint8_t>(48, static_cast<uint8_t>(static_cast<long long>(x) % 251))};
    }
    static engine::Image expected(qint64 seed, int steps) {
        double x = static_cast<double>(seed % 999983);
        for (int i = 0; i < steps; ++i)
            x = advance(x);
        return imageOf(x);
    }

    std::vector<engine::Image> generate(const std::vector<engine::GenerationRequest>& requests,
                                        const engine::Callbacks& cb) override {
        batchSizes.push_back(static_cast<int>(requests.size()));
        if (static_cast<int>(requests.size()) > oomAbove && oomAtStep == 0)
            throw engine::OutOfMemory("pipeline: out of memory sampling " + std::to_string(requests.size()) +
                                      " images");
        std::vector<double> x;
        const int first = requests.front().resume ? requests.front().resume->step : 0;
        resumeSteps.push_back(first);
        for (const auto& r : requests)
            x.push_back(r.resume ? r.resume->latent.at(0) : static_cast<double>(r.seed % 999983));
        const int total = requests.front().steps;
        auto state = [&](std::size_t i, int step) {
            return engine::SamplerState{step, 1, 1, 1, {static_cast<float>(x[i])}};
        };
        for (int step = first + 1; step <= total; ++step) {
            if (static_cast<int>(requests.size()) > oomAbove && step == oomAtStep)
                throw engine::OutOfMemory("pipeline: out of memory at step " + std::to_string(step));
            if (stepDelayMs > 0)
                QThread::msleep(stepDelayMs);
            for (auto& v : x)
                v = advance(v);
            if (cb.on_step)
                cb.on_step({0, requests.size(), step, total});
            if (onStep)
                onStep(step);
            if (cb.checkpoint_every > 0 && step % cb.checkpoint_every == 0 && step < total && cb.on_checkpoint)
                for (std::size_t i = 0; i < x.size(); ++i)
                    cb.on_checkpoint(i, state(i, step));
            if (cb.should_abort && cb.should_abort()) {
                if (cb.on_checkpoint)
                    for (std::size_t i = 0; i < x.size(); ++i)
                        cb.on_checkpoint(i, state(i, step));
                throw engine::Cancelled();
            }
        }
        if (oomAtDecode)
            throw engine::OutOfMemory("pipeline: out of memory on cuda:0 decoding 1 image", true);
        std::vector<engine::Image> out;
        for (std::size_t i = 0; i < x.size(); ++i) {
            out.push_back(imageOf(x[i]));
            if (cb.on_image)
                cb.on_image(i, out.back());
        }
        return out;
    }
};

} // namespace charaforge::test
