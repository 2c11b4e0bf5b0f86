#pragma once
// Which devices a multi-device worker runs on: `--devices all|cuda:0,cuda:1,...` and the studio's "GPUs to use".
// Checked as a whole before any model loads, so that a typo never starts half of the workers.
#include <QString>
#include <QStringList>

namespace charaforge::queue {

// The devices of `spec` in the order given: "all" (every one of the machine's `cudaDevices` CUDA devices) or a
// comma-separated list of "cuda:N". Throws std::invalid_argument naming the entry for an empty or malformed
// entry, a device listed twice or an index the machine lacks, and for "all" (or an empty list) on a machine
// without CUDA device.
QStringList parseDeviceList(const QString& spec, int cudaDevices);

// The studio's workers for its setting "GPUs to use" (`setting`, default "all"): one per listed GPU. On a machine
// without CUDA device, none: the studio then runs its one worker on the CPU, as without the setting. A setting that
// does not parse (a GPU since removed) gives every GPU, and `problem` says why.
QStringList studioDevices(const QString& setting, int cudaDevices, QString* problem = nullptr);

} // namespace charaforge::queue
