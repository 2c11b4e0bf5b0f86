// charaforge-cli gallery list|export|import|mark.
#include "gallery_commands.h"

#include "progress_line.h"

#include "gallery/gallery_export.h"
#include "queue/gallery_store.h"
#include "queue/job_store.h"

#include <QDate>
#include <QDateTime>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimeZone>

#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>

namespace charaforge::cli {

namespace {

struct Where {
    std::string queue;   // the queue database; the gallery is gallery.db beside it
    std::string gallery; // or the gallery database itself
};

void addWhereOptions(CLI::App* sub, Where& w) {
    sub->add_option("--queue", w.queue,
                    "queue database whose gallery (gallery.db beside it) is meant (default: CHARAFORGE_QUEUE or the "
                    "app's data folder, as the window)");
    sub->add_option("--gallery", w.gallery, "the gallery database itself (instead of --queue)");
}

QString queuePathOf(const Where& w) {
    return w.queue.empty() ? queue::JobStore::defaultPath() : QString::fromStdString(w.queue);
}

QString galleryPathOf(const Where& w) {
    if (!w.gallery.empty() && !w.queue.empty())
        throw std::invalid_argument("--gallery and --queue: give one of them");
    return w.gallery.empty() ? queue::GalleryStore::pathNextTo(queuePathOf(w)) : QString::fromStdString(w.gallery);
}

// The gallery of an existing database: reading never creates one (a mistyped path is an error, not an empty
// gallery).
std::unique_ptr<queue::GalleryStore> openExisting(const Where& w) {
    const QString path = galleryPathOf(w);
    if (!QFileInfo(path).isFile())
        throw std::runtime_error(path.toStdString() +
                                 ": no gallery database here (finished images are recorded in gallery.db beside the "
                                 "queue; `charaforge-cli gallery import FOLDER` adds existing PNGs)");
    return std::make_unique<queue::GalleryStore>(path);
}

struct Filters {
    std::string search;
    int minRating = 0;
    bool favourites = false;
    bool winners = false;
    std::string group;
    std::string character;
    std::string size;
    std::string since;
    std::string until;
    std::string sort = "newest";
    int limit = 0;
    std::vector<int64_t> ids;
};

void addFilterOptions(CLI::App* sub, Filters& f) {
    sub->add_option("--search", f.search, "words that must all appear (as prefixes) in the prompt, tags or names");
    add_int(sub, "--min-rating", f.minRating, 0, 5, "only images rated at least this (1-5)");
    sub->add_flag("--favourites", f.favourites, "only favourites");
    sub->add_flag("--winners", f.winners, "only images picked as their group's winner");
    sub->add_option("--group", f.group, "only this variant group (its id, as `queue list` shows)");
    sub->add_option("--character", f.character, "only images with this character name");
    sub->add_option("--size", f.size, "only images of this size, WIDTHxHEIGHT");
    sub->add_option("--since", f.since, "only images made on or after this day, YYYY-MM-DD (local time)");
    sub->add_option("--until", f.until, "only images made before this day, YYYY-MM-DD (local time)");
    sub->add_option("--sort", f.sort, "newest, oldest or rating")
        ->check(CLI::IsMember({"newest", "oldest", "rating"}))
        ->capture_default_str();
    add_int(sub, "--limit", f.limit, 0, std::numeric_limits<int>::max(), "at most this many images (0: all)");
    sub->add_option_function<std::vector<std::string>>(
           "--id",
           [&f](const std::vector<std::string>& words) {
               for (const auto& w : words)
                   f.ids.push_back(parse_int64(w, "--id", 1, std::numeric_limits<int64_t>::max()));
           },
           "only these image ids (repeatable); other filters still apply")
        ->type_name("ID")
        ->expected(1, std::numeric_limits<int>::max());
}

qint64 dayStart(const std::string& text, const char* option) {
    const QDate d = QDate::fromString(QString::fromStdString(text), Qt::ISODate);
    if (!d.isValid() || text.size() != 10)
        throw std::invalid_argument(std::string(option) + ": '" + text + "' is not a date YYYY-MM-DD");
    return d.startOfDay().toMSecsSinceEpoch();
}

queue::GalleryQuery queryOf(const Filters& f) {
    queue::GalleryQuery q;
    q.text = QString::fromStdString(f.search);
    q.minRating = f.minRating;
    q.favouritesOnly = f.favourites;
    q.winnersOnly = f.winners;
    q.group = QString::fromStdString(f.group);
    q.character = QString::fromStdString(f.character);
    if (!f.size.empty()) {
        const auto x = f.size.find('x');
        if (x == std::string::npos)
            throw std::invalid_argument("--size: '" + f.size + "' is not WIDTHxHEIGHT (e.g. 832x1216)");
        q.width = static_cast<int>(parse_int64(f.size.substr(0, x), "--size width", 16, kMaxSide));
        q.height = static_cast<int>(parse_int64(f.size.substr(x + 1), "--size height", 16, kMaxSide));
    }
    if (!f.since.empty())
        q.createdFrom = dayStart(f.since, "--since");
    if (!f.until.empty())
        q.createdTo = dayStart(f.until, "--until");
    if (q.createdFrom && q.createdTo && q.createdTo <= q.createdFrom)
        throw std::invalid_argument("--until must be a later day than --since");
    q.sort = f.sort == "oldest"   ? queue::GallerySort::OldestFirst
             : f.sort == "rating" ? queue::GallerySort::RatingThenNewest
                                  : queue::GallerySort::NewestFirst;
    q.limit = f.ids.empty() && f.limit > 0 ? f.limit : -1;
    return q;
}

QList<queue::GalleryImage> select(const queue::GalleryStore& store, const Filters& f) {
    auto images = store.search(queryOf(f));
    if (!f.ids.empty()) {
        QList<queue::GalleryImage> picked;
        for (const auto& im : images)
            if (std::find(f.ids.begin(), f.ids.end(), im.id) != f.ids.end())
                picked.push_back(im);
        for (auto id : f.ids)
            if (!store.image(id))
                throw std::runtime_error(store.path().toStdString() + ": no image with id " + std::to_string(id));
        images = picked;
        if (f.limit > 0 && images.size() > f.limit)
            images = images.mid(0, f.limit);
    }
    return images;
}

std::string oneLine(QString text) {
    text.replace(QLatin1Char('\n'), QLatin1Char(' ')).replace(QLatin1Char('\r'), QLatin1Char(' '));
    if (text.size() > 70)
        text = text.left(69) + QStringLiteral("…");
    return text.toStdString();
}

QJsonObject toJson(const queue::GalleryImage& im) {
    const auto& s = im.spec;
    return QJsonObject{{QStringLiteral("id"), im.id},
                       {QStringLiteral("path"), im.path},
                       {QStringLiteral("missing"), im.missing},
                       {QStringLiteral("job"), im.jobId},
                       {QStringLiteral("group"), im.group},
                       {QStringLiteral("axis_values"), QJsonArray::fromStringList(im.axisValues)},
                       {QStringLiteral("prompt"), s.prompt},
                       {QStringLiteral("negative"), s.negative},
                       {QStringLiteral("characters"), QJsonArray::fromStringList(im.characters)},
                       {QStringLiteral("width"), s.width},
                       {QStringLiteral("height"), s.height},
                       {QStringLiteral("steps"), s.steps},
                       {QStringLiteral("sampler"), s.sampler},
                       {QStringLiteral("cfg"), s.cfg},
                       // A string: JSON readers lose integers above 2^53.
                       {QStringLiteral("seed"), QString::number(s.seed)},
                       {QStringLiteral("rating"), im.rating},
                       {QStringLiteral("favourite"), im.favourite},
                       {QStringLiteral("winner"), im.winner},
                       {QStringLiteral("created"),
                        QDateTime::fromMSecsSinceEpoch(im.created, QTimeZone::utc()).toString(Qt::ISODate)}};
}

struct List {
    Where where;
    Filters filters;
    bool json = false;
};

int runList(const List& o) {
    const auto store = openExisting(o.where);
    const auto images = select(*store, o.filters);
    if (o.json) {
        QJsonArray rows;
        for (const auto& im : images)
            rows.append(toJson(im));
        std::cout << QJsonDocument(rows).toJson(QJsonDocument::Indented).toStdString();
        return kExitOk;
    }
    for (const auto& im : images) {
        const std::string flags = std::string(im.favourite ? "♥" : "-") + (im.winner ? "W" : "-");
        std::cout << im.id << "\t" << (im.rating ? std::string(static_cast<std::size_t>(im.rating), '*') : "-") << "\t"
                  << flags << "\t" << im.spec.width << "x" << im.spec.height << "\tseed " << im.spec.seed << "\t"
                  << (im.missing ? "(missing) " : "") << im.path.toStdString() << "\t"
                  << oneLine(im.characters.isEmpty() ? im.spec.prompt : im.characters.join(QStringLiteral(", ")))
                  << "\n";
    }
    progress::note(std::to_string(images.size()) + (images.size() == 1 ? " image" : " images"));
    return kExitOk;
}

struct Export {
    Where where;
    Filters filters;
    std::string format;
    std::string out;
    std::string pattern = "{character}-{seed}";
    std::string title = "CharaForge sheet";
    std::string paper = "a4";
    int thumbnail = 256;
};

int runExport(const Export& o) {
    gallery::ExportOptions options;
    options.format = o.format == "zip"    ? gallery::ExportFormat::Zip
                     : o.format == "html" ? gallery::ExportFormat::Html
                     : o.format == "pdf"  ? gallery::ExportFormat::Pdf
                                          : gallery::ExportFormat::Folder;
    if (options.format == gallery::ExportFormat::Folder) {
        const QFileInfo dest(QString::fromStdString(o.out));
        if (dest.exists() && !dest.isDir())
            throw std::invalid_argument("--out: " + o.out +
                                        " exists and is not a folder (a folder export writes "
                                        "one PNG per image into it)");
    } else {
        check_output_file(o.out, "--out");
    }
    options.destination = QFileInfo(QString::fromStdString(o.out)).absoluteFilePath();
    options.namePattern = QString::fromStdString(o.pattern);
    if (options.namePattern.trimmed().isEmpty())
        throw std::invalid_argument("--pattern: must not be empty");
    options.title = QString::fromStdString(o.title);
    options.paper = o.paper == "letter" ? gallery::PaperSize::Letter : gallery::PaperSize::A4;
    options.thumbnailSize = o.thumbnail;

    const auto store = openExisting(o.where);
    const auto images = select(*store, o.filters);
    if (images.isEmpty())
        throw std::runtime_error("no image matches: nothing was exported");

    // Group labels and axis names, from the queue the gallery sits beside (when there is one).
    const auto items =
        gallery::exportItemsFor(images, *store, o.where.gallery.empty() ? queuePathOf(o.where) : QString());
    const auto result = gallery::exportImages(items, options, [](int done, int total) {
        progress::show("exporting " + std::to_string(done) + "/" + std::to_string(total));
        return true;
    });
    progress::end();
    for (const auto& s : result.skipped)
        progress::note("  skipped " + s.toStdString());
    for (const auto& f : result.files)
        std::cout << f.toStdString() << "\n";
    progress::note("exported " + std::to_string(result.written) + " of " + std::to_string(items.size()) +
                   (items.size() == 1 ? " image" : " images") + " to " + options.destination.toStdString());
    return result.written == items.size() ? kExitOk : kExitFailed;
}

struct Import {
    Where where;
    std::string folder;
};

int runImport(const Import& o) {
    const QFileInfo folder(QString::fromStdString(o.folder));
    if (!folder.isDir())
        throw std::invalid_argument("FOLDER: " + o.folder + " is not a folder");
    queue::GalleryStore store(galleryPathOf(o.where));
    QStringList errors;
    const int added = store.importFolder(folder.absoluteFilePath(), &errors);
    for (const auto& e : errors)
        progress::note("  skipped " + e.toStdString());
    progress::note("imported " + std::to_string(added) + (added == 1 ? " image" : " images") + " into " +
                   store.path().toStdString());
    return errors.isEmpty() ? kExitOk : kExitFailed;
}

struct Mark {
    Where where;
    int64_t id = 0;
    int rating = -1;
    std::string favourite;
    std::string winner;
};

int runMark(const Mark& o) {
    if (o.rating < 0 && o.favourite.empty() && o.winner.empty())
        throw std::invalid_argument("nothing to change: give --rating, --favourite or --winner");
    const auto store = openExisting(o.where);
    if (!store->image(o.id))
        throw std::runtime_error(store->path().toStdString() + ": no image with id " + std::to_string(o.id));
    if (o.rating >= 0)
        store->setRating(o.id, o.rating);
    if (!o.favourite.empty())
        store->setFavourite(o.id, o.favourite == "on");
    if (!o.winner.empty())
        store->setWinner(o.id, o.winner == "on", /*exclusive=*/true);
    return kExitOk;
}

} // namespace

void add_gallery_commands(CLI::App& app, Action& chosen) {
    auto* gallery = app.add_subcommand("gallery", "The gallery of finished images: list, export, import, mark");
    gallery->require_subcommand(1);

    auto list = std::make_shared<List>();
    auto* ls = gallery->add_subcommand("list", "List gallery images (id, rating, favourite/winner, size, seed, file)");
    addWhereOptions(ls, list->where);
    addFilterOptions(ls, list->filters);
    ls->add_flag("--json", list->json, "print the images as a JSON array (every setting, seeds as strings)");
    set_action(ls, chosen, [list] { return runList(*list); });

    auto exp = std::make_shared<Export>();
    auto* ex = gallery->add_subcommand("export", "Export the selected images as a folder, zip, HTML or PDF sheet");
    addWhereOptions(ex, exp->where);
    addFilterOptions(ex, exp->filters);
    ex->add_option("--format", exp->format, "folder, zip, html or pdf")
        ->required()
        ->check(CLI::IsMember({"folder", "zip", "html", "pdf"}));
    ex->add_option("--out", exp->out, "the folder (folder) or the file (zip, html, pdf) to write")->required();
    ex->add_option("--pattern", exp->pattern,
                   "file names in a folder or zip: {character} {seed} {id} {job} {group} {rating} {width} {height} "
                   "{index}")
        ->capture_default_str();
    ex->add_option("--title", exp->title, "title of an HTML or PDF sheet")->capture_default_str();
    ex->add_option("--paper", exp->paper, "PDF paper: a4 or letter")
        ->check(CLI::IsMember({"a4", "letter"}))
        ->capture_default_str();
    add_int(ex, "--thumbnail", exp->thumbnail, 64, 2048, "HTML: longest side of the embedded thumbnails, pixels");
    set_action(ex, chosen, [exp] { return runExport(*exp); });

    auto imp = std::make_shared<Import>();
    auto* im = gallery->add_subcommand("import", "Add a folder of PNGs (CharaForge's or A1111 'parameters' ones)");
    addWhereOptions(im, imp->where);
    im->add_option("FOLDER", imp->folder, "folder of PNG files")->required();
    set_action(im, chosen, [imp] { return runImport(*imp); });

    auto mark = std::make_shared<Mark>();
    auto* mk = gallery->add_subcommand("mark", "Rate an image, mark it a favourite or its group's winner");
    addWhereOptions(mk, mark->where);
    add_int64(mk, "ID", mark->id, 1, std::numeric_limits<int64_t>::max(), "image id (as `gallery list` shows)")
        ->required();
    add_int(mk, "--rating", mark->rating, 0, 5, "rating 1-5, 0 to clear");
    mk->add_option("--favourite", mark->favourite, "on or off")->check(CLI::IsMember({"on", "off"}));
    mk->add_option("--winner", mark->winner, "on (the one winner of its group) or off")
        ->check(CLI::IsMember({"on", "off"}));
    set_action(mk, chosen, [mark] { return runMark(*mark); });
}

} // namespace charaforge::cli
