#include "queue/job_record.h"

#include "charaforge/engine/error.h"
#include "charaforge/imaging/png_io.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <mutex>

namespace charaforge::queue {

namespace {

// The model our A1111 `parameters` text names (pngRecord writes it).
constexpr const char* kModelName = "NewBie-image-Exp0.1";

// The sampler in the A1111 "parameters" text. DPM-Solver++ 2M is not called A1111's "DPM++ 2M": that name also
// stands for k-diffusion's schedules and, on flow models, for a step ratio taken in log sigma, not log SNR.
QString samplerLabel(const QString& sampler) {
    if (sampler == QStringLiteral("dpm"))
        return QStringLiteral("DPM-Solver++ 2M");
    return sampler == QStringLiteral("midpoint") ? QStringLiteral("Midpoint") : QStringLiteral("Euler");
}

// Our sampler for a recorded name ("Euler", "midpoint", "dpm", "DPM-Solver++ 2M"); any other is Euler, with a
// note saying so.
QString samplerFor(const QString& recorded, QStringList* notes) {
    for (const QString& known : {QStringLiteral("euler"), QStringLiteral("midpoint"), QStringLiteral("dpm")})
        if (recorded.compare(known, Qt::CaseInsensitive) == 0 ||
            recorded.compare(samplerLabel(known), Qt::CaseInsensitive) == 0)
            return known;
    if (notes)
        notes->append(QStringLiteral("sampler \"%1\" has no equivalent; using Euler").arg(recorded));
    return QStringLiteral("euler");
}

} // namespace

QString outputPathFor(const Job& job) {
    if (job.spec.kind == JobKind::Erase)
        return QDir(job.spec.outputDir)
            .filePath(QStringLiteral("%1-erased-%2.png")
                          .arg(QFileInfo(job.spec.image).completeBaseName())
                          .arg(job.id, 6, 10, QLatin1Char('0')));
    return QDir(job.spec.outputDir)
        .filePath(QStringLiteral("charaforge-%1-%2.png").arg(job.id, 6, 10, QLatin1Char('0')).arg(job.spec.seed));
}

std::map<std::string, std::string> eraseRecord(const Job& job, const QString& queueId,
                                               const std::map<std::string, std::string>& sourceText) {
    auto text = sourceText;
    QJsonObject o;
    o[QStringLiteral("job_id")] = job.id;
    o[QStringLiteral("queue_id")] = queueId;
    o[QStringLiteral("image")] = job.spec.image;
    o[QStringLiteral("mask")] = job.spec.mask;
    o[QStringLiteral("strategy")] = job.spec.strategy;
    o[QStringLiteral("model")] = job.spec.model;
    text["charaforge_erase"] = QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
    return text;
}

bool eraseRecordIsJob(const std::map<std::string, std::string>& text, const Job& job, const QString& queueId) {
    const auto it = text.find("charaforge_erase");
    if (it == text.end())
        return false;
    const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(it->second)).object();
    return o.value(QStringLiteral("job_id")).toInteger() == job.id &&
           o.value(QStringLiteral("queue_id")).toString() == queueId &&
           o.value(QStringLiteral("image")).toString() == job.spec.image &&
           o.value(QStringLiteral("mask")).toString() == job.spec.mask;
}

QString outputFolderProblem(const QString& folder) {
    const QFileInfo out(folder);
    if (out.exists() && !out.isDir())
        return QStringLiteral("exists and is not a folder");
    // The folder, or the nearest of its parents that exists (the rest is made).
    QFileInfo existing = out;
    while (!existing.exists() && !existing.isRoot())
        existing = QFileInfo(existing.absolutePath());
    if (!existing.isDir())
        return QStringLiteral("%1 is not a folder").arg(existing.absoluteFilePath());
    if (!existing.isWritable())
        return QStringLiteral("cannot write in %1").arg(existing.absoluteFilePath());
    return {};
}

std::map<std::string, std::string> pngRecord(const JobSpec& s, const QList<ModelFileRecord>& model,
                                             const QString& appVersion, const RecordOrigin& origin) {
    QJsonArray files;
    for (const auto& f : model)
        files.append(QJsonObject{{QStringLiteral("role"), f.role},
                                 {QStringLiteral("file"), QFileInfo(f.path).fileName()},
                                 {QStringLiteral("sha256"), f.sha256}});
    QJsonObject rec{{QStringLiteral("format"), QStringLiteral("charaforge-record-1")},
                    {QStringLiteral("prompt"), s.prompt},
                    {QStringLiteral("negative_prompt"), s.negative},
                    {QStringLiteral("seed"), QString::number(s.seed)}, // as text: JSON numbers lose 64-bit seeds
                    {QStringLiteral("steps"), s.steps},
                    {QStringLiteral("sampler"), s.sampler},
                    {QStringLiteral("cfg"), s.cfg},
                    {QStringLiteral("cfg_trunc"), s.cfgTrunc},
                    {QStringLiteral("renorm_cfg"), s.renorm},
                    {QStringLiteral("shift"), s.shift},
                    {QStringLiteral("width"), s.width},
                    {QStringLiteral("height"), s.height},
                    {QStringLiteral("model"), s.model},
                    {QStringLiteral("model_files"), files},
                    {QStringLiteral("app"), QStringLiteral("charaforge ") + appVersion}};
    if (origin.jobId != 0) {
        rec.insert(QStringLiteral("job_id"), QString::number(origin.jobId));
        rec.insert(QStringLiteral("queue_id"), origin.queueId);
        rec.insert(QStringLiteral("group"), origin.group);
    }
    QString params = s.prompt + QLatin1Char('\n');
    if (!s.negative.isEmpty())
        params += QStringLiteral("Negative prompt: ") + s.negative + QLatin1Char('\n');
    params += QStringLiteral("Steps: %1, Sampler: %2, CFG scale: %3, Seed: %4, Size: %5x%6")
                  .arg(s.steps)
                  .arg(samplerLabel(s.sampler))
                  .arg(s.cfg)
                  .arg(s.seed)
                  .arg(s.width)
                  .arg(s.height);
    for (const auto& f : model)
        if (f.role == QStringLiteral("transformer") && !f.sha256.isEmpty())
            params += QStringLiteral(", Model hash: ") + f.sha256.left(10);
    params += QStringLiteral(", Model: NewBie-image-Exp0.1, Version: charaforge ") + appVersion;
    return {{"charaforge", QJsonDocument(rec).toJson(QJsonDocument::Compact).toStdString()},
            {"parameters", params.toStdString()}};
}

std::map<std::string, std::string> pngRecord(const Job& job, const QList<ModelFileRecord>& model,
                                             const QString& appVersion, const QString& queueId) {
    return pngRecord(job.spec, model, appVersion, RecordOrigin{job.id, queueId, job.group});
}

QString hashKey(const QString& path) {
    const QFileInfo info(path);
    return QStringLiteral("sha256:%1:%2:%3")
        .arg(info.absoluteFilePath())
        .arg(info.size())
        .arg(info.lastModified().toMSecsSinceEpoch());
}

QList<ModelFileRecord> modelFileRecords(const QList<QPair<QString, QString>>& files, const HashMemory& memory,
                                        const std::function<void(const QString&)>& notice,
                                        const std::function<bool()>& stop) {
    // The workers of one process (one per GPU) open the same model at once: one hashes, the others then
    // recall what it remembered rather than read the same gigabytes beside it.
    static std::mutex hashing;
    const std::lock_guard<std::mutex> lock(hashing);
    QList<ModelFileRecord> out;
    QStringList unhashed;
    for (const auto& [role, path] : files) {
        out.push_back({role, path, memory.recall(hashKey(path))});
        if (out.back().sha256.isEmpty()) {
            // Component files often share a name (transformer/ and vae/ both hold
            // diffusion_pytorch_model.safetensors): each is named with its folder.
            const QFileInfo info(path);
            unhashed << info.dir().dirName() + QLatin1Char('/') + info.fileName();
        }
    }
    if (unhashed.isEmpty())
        return out;
    // Hashing a multi-gigabyte file takes seconds: once per file version, remembered.
    if (notice)
        notice(QStringLiteral("hashing %1 for the image records (once): %2")
                   .arg(unhashed.size() == 1 ? QStringLiteral("1 model file")
                                             : QStringLiteral("%1 model files").arg(unhashed.size()),
                        unhashed.join(QStringLiteral(", "))));
    for (auto& f : out) {
        if (!f.sha256.isEmpty())
            continue;
        const FileHash hashed = sha256OfFile(f.path, stop);
        // A stop request ends the hash at once: nothing remembered.
        if (hashed.outcome == FileHash::Outcome::Cancelled)
            throw engine::Cancelled();
        f.sha256 = hashed.hex;
        if (!f.sha256.isEmpty())
            memory.remember(hashKey(f.path), f.sha256);
    }
    return out;
}

qint64 jobIdFromPngText(const std::map<std::string, std::string>& text) {
    auto it = text.find("charaforge");
    if (it == text.end())
        return 0;
    const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(it->second));
    return doc.object().value(QStringLiteral("job_id")).toString().toLongLong();
}

bool pngRecordIsJob(const std::map<std::string, std::string>& text, const Job& job, const QString& queueId) {
    auto it = text.find("charaforge");
    if (it == text.end() || queueId.isEmpty())
        return false;
    const auto o = QJsonDocument::fromJson(QByteArray::fromStdString(it->second)).object();
    if (o.value(QStringLiteral("queue_id")).toString() != queueId ||
        o.value(QStringLiteral("job_id")).toString() != QString::number(job.id))
        return false;
    const auto spec = specFromPngText(text);
    if (!spec)
        return false;
    const auto& s = job.spec;
    return spec->prompt == s.prompt && spec->negative == s.negative && spec->seed == s.seed && spec->width == s.width &&
           spec->height == s.height && spec->steps == s.steps && spec->sampler == s.sampler;
}

std::optional<JobSpec> specFromPngText(const std::map<std::string, std::string>& text, QString* error,
                                       QStringList* notes) {
    auto fail = [&](const QString& why) -> std::optional<JobSpec> {
        if (error)
            *error = why;
        return std::nullopt;
    };
    if (auto it = text.find("charaforge"); it != text.end()) {
        QJsonParseError perr;
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(it->second), &perr);
        if (!doc.isObject())
            return fail(QStringLiteral("the charaforge record is not valid JSON (%1)").arg(perr.errorString()));
        const auto o = doc.object();
        for (const char* key : {"prompt", "seed", "steps", "sampler", "cfg", "width", "height"})
            if (!o.contains(QLatin1String(key)))
                return fail(QStringLiteral("the charaforge record has no \"%1\"").arg(QLatin1String(key)));
        JobSpec s;
        s.prompt = o.value(QStringLiteral("prompt")).toString();
        s.negative = o.value(QStringLiteral("negative_prompt")).toString();
        const auto seed = o.value(QStringLiteral("seed"));
        s.seed = seed.isString() ? seed.toString().toLongLong() : static_cast<qint64>(seed.toDouble());
        s.steps = o.value(QStringLiteral("steps")).toInt();
        s.sampler = samplerFor(o.value(QStringLiteral("sampler")).toString(), notes);
        s.cfg = o.value(QStringLiteral("cfg")).toDouble();
        s.cfgTrunc = o.value(QStringLiteral("cfg_trunc")).toDouble(1.0);
        s.renorm = o.value(QStringLiteral("renorm_cfg")).toDouble(0.0);
        s.shift = o.value(QStringLiteral("shift")).toDouble(6.0);
        s.width = o.value(QStringLiteral("width")).toInt();
        s.height = o.value(QStringLiteral("height")).toInt();
        s.model = o.value(QStringLiteral("model")).toString();
        return s;
    }
    if (auto it = text.find("parameters"); it != text.end()) {
        // A1111: prompt lines, optional "Negative prompt: ..." lines, then one "Key: value, ..." line.
        const QString all = QString::fromStdString(it->second);
        const int last = all.lastIndexOf(QStringLiteral("\nSteps: "));
        if (last < 0)
            return fail(QStringLiteral("the parameters text has no \"Steps:\" line"));
        QString head = all.left(last);
        const QString tail = all.mid(last + 1);
        JobSpec s;
        const int neg = head.indexOf(QStringLiteral("\nNegative prompt: "));
        if (neg >= 0) {
            s.negative = head.mid(neg + 18);
            head = head.left(neg);
        }
        s.prompt = head;
        static const QRegularExpression field(QStringLiteral("(\\w[\\w ]*): ([^,]*)"));
        for (auto m = field.globalMatch(tail); m.hasNext();) {
            const auto f = m.next();
            const QString key = f.captured(1).trimmed(), value = f.captured(2).trimmed();
            if (key == QStringLiteral("Steps"))
                s.steps = value.toInt();
            else if (key == QStringLiteral("Sampler"))
                s.sampler = samplerFor(value, notes);
            else if (key == QStringLiteral("CFG scale"))
                s.cfg = value.toDouble();
            else if (key == QStringLiteral("Seed"))
                s.seed = value.toLongLong();
            else if (key == QStringLiteral("Size")) {
                const auto wh = value.split(QLatin1Char('x'));
                if (wh.size() == 2) {
                    s.width = wh[0].toInt();
                    s.height = wh[1].toInt();
                }
            } else if (key == QStringLiteral("Model")) {
                if (value != QLatin1String(kModelName) && notes)
                    notes->append(QStringLiteral("model \"%1\" is not %2; using the current model")
                                      .arg(value, QLatin1String(kModelName)));
            } else if (key != QStringLiteral("Model hash") && key != QStringLiteral("Version") && notes) {
                notes->append(QStringLiteral("\"%1: %2\" has no equivalent; ignored").arg(key, value));
            }
        }
        return s;
    }
    return fail(QStringLiteral("no generation settings in it (no charaforge or parameters text chunk)"));
}

std::optional<JobSpec> specFromPng(const QString& path, QString* error, QStringList* notes) {
    std::map<std::string, std::string> text;
    try {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            throw std::runtime_error("cannot open: " + f.errorString().toStdString());
        const QByteArray bytes = f.readAll();
        text = imaging::read_png_text(std::vector<uint8_t>(bytes.begin(), bytes.end()));
    } catch (const std::exception& e) {
        if (error)
            *error = path + QStringLiteral(": ") + QString::fromStdString(e.what());
        return std::nullopt;
    }
    QString why;
    auto spec = specFromPngText(text, &why, notes);
    if (!spec && error)
        *error = path + QStringLiteral(": ") + why;
    return spec;
}

QString sha256OfFile(const QString& path) {
    return sha256OfFile(path, {}).hex;
}

FileHash sha256OfFile(const QString& path, const std::function<bool()>& stop) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash h(QCryptographicHash::Sha256);
    constexpr qint64 chunk = qint64(4) << 20;
    QByteArray buffer(chunk, Qt::Uninitialized);
    for (;;) {
        if (stop && stop())
            return {FileHash::Outcome::Cancelled, {}};
        const qint64 n = f.read(buffer.data(), chunk);
        if (n < 0)
            return {};
        if (n == 0)
            break;
        h.addData(QByteArrayView(buffer.constData(), n));
    }
    return {FileHash::Outcome::Done, QString::fromLatin1(h.result().toHex())};
}

} // namespace charaforge::queue
