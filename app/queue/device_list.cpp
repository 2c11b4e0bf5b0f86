#include "queue/device_list.h"

#include <QRegularExpression>

#include <stdexcept>

namespace charaforge::queue {

namespace {

std::string noDevice() {
    return "no CUDA device is available (run one worker on the CPU with --device cpu)";
}

} // namespace

QStringList parseDeviceList(const QString& spec, int cudaDevices) {
    const QString text = spec.trimmed();
    if (text == QStringLiteral("all")) {
        if (cudaDevices <= 0)
            throw std::invalid_argument("all: " + noDevice());
        QStringList all;
        for (int i = 0; i < cudaDevices; ++i)
            all.push_back(QStringLiteral("cuda:%1").arg(i));
        return all;
    }
    if (text.isEmpty())
        throw std::invalid_argument("no device given (use all or cuda:0,cuda:1,...)");
    static const QRegularExpression device(QStringLiteral("^cuda:([0-9]{1,3})$"));
    QStringList out;
    const QStringList entries = text.split(QLatin1Char(','));
    for (int i = 0; i < entries.size(); ++i) {
        const QString entry = entries[i].trimmed();
        const std::string where = "entry " + std::to_string(i + 1);
        if (entry.isEmpty())
            throw std::invalid_argument(where + " is empty (use all or cuda:0,cuda:1,...)");
        const auto m = device.match(entry);
        if (!m.hasMatch())
            throw std::invalid_argument("'" + entry.toStdString() + "' (" + where +
                                        ") is not a CUDA device: use cuda:N, N from 0");
        const int index = m.captured(1).toInt();
        const QString name = QStringLiteral("cuda:%1").arg(index); // cuda:01 is cuda:1
        if (out.contains(name))
            throw std::invalid_argument(name.toStdString() + " is listed twice");
        out.push_back(name);
    }
    // The whole list's spelling first, then what this machine has.
    for (const auto& name : out)
        if (name.mid(5).toInt() >= cudaDevices)
            throw std::invalid_argument(
                name.toStdString() + ": " +
                (cudaDevices <= 0 ? noDevice()
                                  : "this machine has " + std::to_string(cudaDevices) +
                                        " CUDA device(s), cuda:0 to cuda:" + std::to_string(cudaDevices - 1)));
    return out;
}

QStringList studioDevices(const QString& setting, int cudaDevices, QString* problem) {
    if (cudaDevices <= 0)
        return {};
    try {
        return parseDeviceList(setting.trimmed().isEmpty() ? QStringLiteral("all") : setting, cudaDevices);
    } catch (const std::invalid_argument& e) {
        if (problem)
            *problem = QStringLiteral("GPUs to use \"%1\": %2; using every GPU")
                           .arg(setting, QString::fromStdString(e.what()));
        return parseDeviceList(QStringLiteral("all"), cudaDevices);
    }
}

} // namespace charaforge::queue
