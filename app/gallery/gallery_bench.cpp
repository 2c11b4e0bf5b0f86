// Gallery benchmark (not a test): N synthetic records (default 20,000) behind the real model and an
// offscreen QListView. Prints the time to open the gallery (store + query + first screen), to apply
// searches, and the longest GUI-thread stall while scrolling through everything and searching, with
// thumbnails generated off the GUI thread. Target: no stall over 50 ms.
//   charaforge-gallery-bench [--images N] [--dir FOLDER]
#include "charaforge/imaging/png_io.h"
#include "gallery/gallery_model.h"
#include "gallery/thumbnail_cache.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QListView>
#include <QScrollBar>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <unistd.h>

using namespace charaforge;

namespace {

const char* kNames[] = {"hatsune_miku", "kagamine_rin", "megurine_luka", "kasane_teto", "original"};
const char* kStyles[] = {"watercolor", "flat color", "oil painting", "lineart", "cel shading", "pixel art"};

double ms(const QElapsedTimer& t) {
    return static_cast<double>(t.nsecsElapsed()) / 1e6;
}

void firstScreen(gallery::GalleryModel& model) {
    for (int r = 0; r < std::min(60, model.rowCount()); ++r)
        model.index(r).data(Qt::DecorationRole);
}

} // namespace

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", qgetenv("QT_QPA_PLATFORM").isEmpty() ? "offscreen" : qgetenv("QT_QPA_PLATFORM"));
    QApplication app(argc, argv);
    int count = 20000;
    QString folder;
    const auto args = app.arguments();
    for (int i = 1; i + 1 < args.size(); ++i) {
        if (args[i] == QStringLiteral("--images"))
            count = std::max(1, args[i + 1].toInt());
        if (args[i] == QStringLiteral("--dir"))
            folder = args[i + 1];
    }
    QTemporaryDir temp;
    if (folder.isEmpty())
        folder = temp.path();
    QDir().mkpath(folder + QStringLiteral("/images"));
    const QString dbPath = folder + QStringLiteral("/gallery.db");

    // Synthetic records: one small PNG hard-linked under every name (files exist, thumbnails are real).
    QElapsedTimer t;
    t.start();
    const QString source = folder + QStringLiteral("/source.png");
    imaging::write_png_atomic(source.toStdString(),
                              imaging::RgbImage{512, 512, std::vector<uint8_t>(512 * 512 * 3, 120)});
    {
        queue::GalleryStore store(dbPath);
        QList<queue::GalleryImage> batch;
        for (int i = 0; i < count; ++i) {
            queue::GalleryImage g;
            g.path = folder + QStringLiteral("/images/%1.png").arg(i, 6, 10, QLatin1Char('0'));
            if (::link(QFile::encodeName(source).constData(), QFile::encodeName(g.path).constData()) != 0 &&
                !QFile::exists(g.path))
                QFile::copy(source, g.path);
            g.spec.prompt =
                QStringLiteral("<character_1>\n<n>%1</n>\n<clothing>outfit_%2</clothing>\n</character_1>\n\n"
                               "<general_tags>\n<style>%3</style>\n</general_tags>")
                    .arg(QLatin1String(kNames[i % 5]))
                    .arg(i % 97)
                    .arg(QLatin1String(kStyles[i % 6]));
            g.spec.seed = i;
            g.group = QStringLiteral("g-%1").arg(i / 12);
            g.rating = 0;
            g.created = 1700000000000LL + i * 1000LL;
            batch.push_back(g);
            if (batch.size() == 2000) {
                store.recordAll(batch);
                batch.clear();
            }
        }
        store.recordAll(batch);
    }
    std::printf("setup: %d records in %.0f ms (not part of the measurement)\n", count, ms(t));

    // Open: the store, the query's ids, the first screen of rows.
    t.restart();
    queue::GalleryStore store(dbPath);
    gallery::ThumbnailCache thumbs(folder + QStringLiteral("/thumbs"), 160);
    gallery::GalleryModel model(store, thumbs);
    model.setQuery({});
    firstScreen(model);
    std::printf("open: %.1f ms (%d rows)\n", ms(t), model.rowCount());

    for (const char* text : {"miku", "watercolor outfit_5", "teto pixel"}) {
        t.restart();
        model.setQuery({.text = QString::fromLatin1(text)});
        firstScreen(model);
        std::printf("search \"%s\": %.1f ms (%d rows)\n", text, ms(t), model.rowCount());
    }
    t.restart();
    model.setQuery({.character = QStringLiteral("kasane_teto"), .sort = queue::GallerySort::RatingThenNewest});
    firstScreen(model);
    std::printf("filter character + sort by rating: %.1f ms (%d rows)\n", ms(t), model.rowCount());

    // Stall: a view over everything, scrolled top to bottom a screen at a time, searches in between,
    // while a zero-interval timer records the longest gap between two event-loop turns.
    model.setQuery({});
    QListView view;
    view.setViewMode(QListView::IconMode);
    view.setUniformItemSizes(true);
    view.setIconSize(QSize(160, 160));
    view.setGridSize(QSize(176, 200));
    view.setResizeMode(QListView::Adjust);
    view.setModel(&model);
    view.resize(1280, 900);
    view.show();
    QElapsedTimer beat;
    beat.start();
    qint64 worst = 0, last = 0;
    QTimer heartbeat;
    QObject::connect(&heartbeat, &QTimer::timeout, &heartbeat, [&] {
        const qint64 now = beat.nsecsElapsed();
        worst = std::max(worst, now - last);
        last = now;
    });
    heartbeat.start(0);
    int step = 0;
    QTimer scroller;
    QObject::connect(&scroller, &QTimer::timeout, &scroller, [&] {
        auto* bar = view.verticalScrollBar();
        ++step;
        if (step % 200 == 0)
            model.setQuery({.text = step % 400 ? QStringLiteral("luka") : QString()});
        if (bar->value() >= bar->maximum() && step > 10) {
            app.quit();
            return;
        }
        bar->setValue(bar->value() + bar->pageStep());
        view.viewport()->repaint(); // paint now, as a user scrolling would see it
    });
    last = beat.nsecsElapsed();
    scroller.start(16);
    t.restart();
    app.exec();
    std::printf("scroll through %d rows (%d screens, 2 searches per 400) in %.0f ms: longest GUI-thread stall "
                "%.1f ms (target < 50 ms)\n",
                model.rowCount(), step, ms(t), static_cast<double>(worst) / 1e6);
    thumbs.waitForDone();
    return 0;
}
