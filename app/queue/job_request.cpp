#include "queue/job_request.h"

#include "charaforge/engine/request_validation.h"
#include "charaforge/imaging/erase.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <utility>

namespace charaforge::queue {

namespace {

// A finite double beyond float's range stays finite (and out of range) rather than becoming inf.
float toFloat(double v) {
    return std::isfinite(v) && std::fabs(v) > FLT_MAX ? std::copysign(FLT_MAX, static_cast<float>(v))
                                                      : static_cast<float>(v);
}

// request_problems names the engine's fields; the job's columns holding them are named differently.
QString jobField(const std::string& problem) {
    static const std::pair<const char*, const char*> kRenamed[] = {
        {"guidance: ", "cfg: "}, {"renorm_cfg: ", "renorm: "}, {"negative prompt: ", "negative: "}};
    for (const auto& [field, column] : kRenamed)
        if (problem.rfind(field, 0) == 0)
            return QString::fromLatin1(column) + QString::fromStdString(problem.substr(std::strlen(field)));
    return QString::fromStdString(problem);
}

} // namespace

std::string exactUtf8(const QString& text) {
    std::string out;
    out.reserve(static_cast<std::size_t>(text.size()));
    const qsizetype n = text.size();
    for (qsizetype i = 0; i < n; ++i) {
        const char16_t u = text[i].unicode();
        if (QChar::isHighSurrogate(u) && i + 1 < n && QChar::isLowSurrogate(text[i + 1].unicode())) {
            engine::append_utf8(out, QChar::surrogateToUcs4(u, text[i + 1].unicode()));
            ++i;
        } else {
            engine::append_utf8(out, u); // an unpaired surrogate too: ED A0..BF xx, invalid UTF-8
        }
    }
    return out;
}

engine::GenerationRequest requestFor(const JobSpec& s) {
    engine::GenerationRequest r;
    r.prompt = exactUtf8(s.prompt);
    r.negative_prompt = exactUtf8(s.negative);
    r.width = s.width;
    r.height = s.height;
    r.steps = s.steps;
    r.solver = engine::solver_from_name(s.sampler.toStdString()).value_or(engine::SolverKind::Euler);
    r.guidance = toFloat(s.cfg);
    r.cfg_trunc = toFloat(s.cfgTrunc);
    r.renorm_cfg = toFloat(s.renorm);
    r.shift = toFloat(s.shift);
    r.seed = static_cast<uint64_t>(s.seed);
    return r;
}

namespace {

// An erase job needs its files and a strategy; whether the files can be read is found when it runs (the
// worker may see another file system than the one that queued it).
QStringList eraseProblems(const JobSpec& spec) {
    QStringList out;
    if (spec.image.isEmpty())
        out << QStringLiteral("image: no image to erase in");
    if (spec.mask.isEmpty())
        out << QStringLiteral("mask: no mask");
    if (spec.model.isEmpty())
        out << QStringLiteral("model: no LaMa model file (big-lama.pt or its .safetensors copy)");
    if (!imaging::parse_erase_strategy(spec.strategy.toStdString()))
        out << QStringLiteral("strategy: '%1' is not original, resize or crop").arg(spec.strategy);
    if (spec.width <= 0 || spec.height <= 0)
        out << QStringLiteral("size: %1x%2 is not an image size").arg(spec.width).arg(spec.height);
    return out;
}

} // namespace

QStringList specProblems(const JobSpec& spec) {
    if (spec.kind == JobKind::Erase)
        return eraseProblems(spec);
    QStringList out;
    engine::GenerationRequest r = requestFor(spec);
    if (spec.seed < 0) {
        out << QStringLiteral("seed: %1 is negative (seeds are 0 to %2)").arg(spec.seed).arg(engine::kMaxSeed);
        r.seed = 0; // said once, not again as a huge unsigned number
    }
    if (!engine::solver_from_name(spec.sampler.toStdString()))
        out << QStringLiteral("sampler: '%1' is not euler, midpoint or dpm").arg(spec.sampler);
    for (const auto& problem : engine::request_problems(r))
        out << jobField(problem);
    return out;
}

} // namespace charaforge::queue
