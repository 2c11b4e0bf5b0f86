// Gallery benchmark (not a test): N synthetic records (default 20,000) in the studio's gallery panel
// (GalleryPanel: its model, searcher thread and grid), offscreen. Prints the time to open the gallery (panel
// + first query + first screen), to apply searches typed into its search box, and the longest GUI-thread
// stall while opening, searching and scrolling through everything, with thumbnails generated off the GUI
// thread. Target: no stall over 50 ms.
//   charaforge-gallery-bench [--images N] [--dir FOLDER]
#include "charaforge/imaging/png_io.h"
#include "gallery/gallery_model.h"
#include "gallery/gallery_panel.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QLineEdit>
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

    // Everything below goes through the studio's gallery panel, as a user sees it: its searches run on its
    // searcher thread, its grid reads records a page at a time and thumbnails off the GUI thread. A
    // zero-interval timer records the longest gap between two event-loop turns (a GUI-thread stall) from the
    // moment the panel exists.
    QElapsedTimer beat;
    beat.start();
    qint64 worst = 0, last = 0;
    QTimer heartbeat;
    QObject::connect(&heartbeat, &QTimer::timeout, &heartbeat, [&] {
        const qint64 now = beat.nsecsElapsed();
        worst = std::max(worst, now - last);
        last = now;
    });
    auto settle = [&](gallery::GalleryPanel& panel) {
        while (panel.isSearching())
            QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    };

    // Open: the panel (its store, the first query's ids), the first screen of rows.
    t.restart();
    gallery::GalleryPanel panel(folder + QStringLiteral("/queue.sqlite"), folder + QStringLiteral("/thumbs"));
    const double construct = ms(t);
    panel.resize(1280, 900);
    panel.show();
    last = beat.nsecsElapsed();
    heartbeat.start(0);
    settle(panel);
    firstScreen(*panel.model());
    std::printf("open: %.1f ms (%d rows; the panel's constructor %.1f ms on the GUI thread; longest stall after it, "
                "the first paint included, %.1f ms)\n",
                ms(t), panel.model()->rowCount(), construct, static_cast<double>(worst) / 1e6);
    worst = 0;

    auto* search = panel.findChild<QLineEdit*>(QStringLiteral("gallerySearch"));
    for (const char* text : {"miku", "watercolor outfit_5", "teto pixel"}) {
        t.restart();
        search->setText(QString::fromLatin1(text));
        panel.applyFilters();
        settle(panel);
        firstScreen(*panel.model());
        std::printf("search \"%s\": %.1f ms (%d rows)\n", text, ms(t), panel.model()->rowCount());
    }
    search->clear();
    t.restart();
    panel.findChild<QLineEdit*>(QStringLiteral("galleryCharacter"))->setText(QStringLiteral("kasane_teto"));
    auto* sort = panel.findChild<QComboBox*>(QStringLiteral("gallerySort"));
    sort->setCurrentIndex(sort->findData(static_cast<int>(queue::GallerySort::RatingThenNewest)));
    panel.applyFilters();
    settle(panel);
    firstScreen(*panel.model());
    std::printf("filter character + sort by rating: %.1f ms (%d rows)\n", ms(t), panel.model()->rowCount());
    const double searchStall = static_cast<double>(worst) / 1e6;

    // Scrolling: the grid over everything, top to bottom a screen at a time, with a search typed into the
    // search box every 200 screens.
    panel.findChild<QLineEdit*>(QStringLiteral("galleryCharacter"))->clear();
    sort->setCurrentIndex(0);
    panel.applyFilters();
    settle(panel);
    worst = 0;
    last = beat.nsecsElapsed();
    QListView& view = *panel.view();
    int step = 0;
    QTimer scroller;
    QObject::connect(&scroller, &QTimer::timeout, &scroller, [&] {
        auto* bar = view.verticalScrollBar();
        ++step;
        if (step % 200 == 0) {
            search->setText(step % 400 ? QStringLiteral("luka") : QString());
            panel.applyFilters();
        }
        if (bar->value() >= bar->maximum() && step > 10 && !panel.isSearching()) {
            app.quit();
            return;
        }
        bar->setValue(bar->value() + bar->pageStep());
        view.viewport()->repaint(); // paint now, as a user scrolling would see it
    });
    scroller.start(16);
    t.restart();
    app.exec();
    std::printf("scroll through %d rows (%d screens, a search every 200) in %.0f ms: longest GUI-thread stall "
                "%.1f ms while scrolling, %.1f ms during the searches above (target < 50 ms)\n",
                panel.model()->rowCount(), step, ms(t), static_cast<double>(worst) / 1e6, searchStall);
    return 0;
}
