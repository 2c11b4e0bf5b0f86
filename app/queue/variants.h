#pragma once
// Variant expansion: one job spec expanded along axes (style tag sets, seeds, CFG, steps, sampler,
// resolution, any tag field of a character) into the product of their values, each job labelled with
// its value on every axis. Pure functions over values; the group store queues the result.
#include "queue/job.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>
#include <stdexcept>

namespace charaforge::queue {

// Thrown for an axis that cannot apply to the prompt or a value that does not parse; the message names
// the axis and the value.
class VariantError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class AxisKind { Style, Seed, Cfg, Steps, Sampler, Resolution, CharacterField };

struct VariantAxis {
    AxisKind kind = AxisKind::Seed;
    // One entry per alternative, as the user wrote it: a comma-separated tag set (Style,
    // CharacterField), a number (Seed, Cfg, Steps), "euler"/"midpoint"/"dpm" (Sampler), "WxH" (Resolution).
    QStringList values;
    bool extend = false; // Style / CharacterField: add the tags to the field instead of replacing it
    int character = 1;   // CharacterField: N of <character_N>
    QString field;       // CharacterField: "clothing", "expression", ... (prompt::character_fields)

    // "style", "seed", "cfg", "steps", "sampler", "resolution", "character_1.clothing".
    QString name() const;
    bool operator==(const VariantAxis&) const = default;
};

struct Variant {
    JobSpec spec;
    QStringList axisValues; // this job's value on every axis, in axis order
};

struct Expansion {
    QStringList axisNames;
    QList<Variant> variants; // the product, first axis varying slowest
};

// Upper bound on a group's size: a product past it is an error, not a queue of a million jobs.
inline constexpr qint64 kMaxVariantJobs = 10000;

// Number of jobs the axes expand to (the product of their value counts; 1 for no axes).
qint64 variantCount(const QList<VariantAxis>& axes);

// The product of the axes applied to `base`. Throws VariantError for an empty axis, a bad value, an axis
// the prompt cannot take (a character field of a prompt without that character) or a product past
// kMaxVariantJobs.
Expansion expandVariants(const JobSpec& base, const QList<VariantAxis>& axes);

// An axis of `count` seeds first, first+1, ...
VariantAxis seedAxis(qint64 first, int count);

// Parses the command line's `--vary` text: "KIND=V1|V2|..." with KIND one of style, style+ (extend),
// seed, seeds (a count: "seeds=4" from the base seed), cfg, steps, sampler, resolution,
// character_N.FIELD, character_N.FIELD+ (extend). Throws VariantError naming the text.
VariantAxis parseVaryOption(const QString& text, qint64 baseSeed = 0);

// Axes as JSON text and back (stored with a group). fromJson throws VariantError on bad JSON.
QString axesToJson(const QList<VariantAxis>& axes);
QList<VariantAxis> axesFromJson(const QString& json);

} // namespace charaforge::queue
