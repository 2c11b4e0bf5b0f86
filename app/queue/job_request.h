#pragma once
// A job's settings as the engine's generation request, and the engine's own check of them
// (charaforge::engine::request_problems): the one rule for what may enter the queue, whoever adds the job.
#include "charaforge/engine/pipeline.h"
#include "queue/job.h"

#include <QStringList>

#include <string>

namespace charaforge::queue {

// The request the engine samples for `spec` (seed and settings; the text encoders read the prompts).
engine::GenerationRequest requestFor(const JobSpec& spec);

// Every problem of `spec`, one line each naming the job's field ("prompt: invalid UTF-8 at byte 3",
// "cfg: nan is not a finite number", "seed: -1 is negative"); empty when the engine can sample it.
QStringList specProblems(const JobSpec& spec);

// `text` as UTF-8, byte for byte what it holds: an unpaired UTF-16 surrogate becomes its (invalid) 3-byte
// form, which the engine's check refuses, where QString::toStdString would turn it into '?' unnoticed.
std::string exactUtf8(const QString& text);

} // namespace charaforge::queue
