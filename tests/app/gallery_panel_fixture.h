#pragma once
// Shared by the gallery panel and export dialog tests: a temporary queue folder whose gallery holds six
// images with known marks, groups, sizes and days, and writers of our PNGs and A1111 ones.
#include "charaforge/imaging/png_io.h"
#include "gallery/gallery_panel.h"
#include "queue/gallery_store.h"
#include "queue/job_record.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <functional>
#include <gtest/gtest.h>

namespace charaforge::test {

class GalleryPanelFixture : public ::testing::Test {
public:
    // Waits for the panel's search thread to answer (the grid shows the filters' result).
    static void settle(const gallery::GalleryPanel& panel) {
        ASSERT_TRUE(waitFor([&] { return !panel.isSearching(); })) << "the search did not answer";
    }

    static bool waitFor(const std::function<bool()>& done, int ms = 5000) {
        QElapsedTimer t;
        t.start();
        while (!done()) {
            if (t.elapsed() > ms)
                return false;
            QTest::qWait(10);
        }
        return true;
    }

protected:
    QTemporaryDir dir;

    QString queuePath() const { return dir.filePath(QStringLiteral("queue.sqlite")); }
    QString thumbs() const { return dir.filePath(QStringLiteral("thumbs")); }

    static void writeOurPng(const QString& path, const QString& name, qint64 seed, int w = 32, int h = 32) {
        queue::Job job;
        job.id = seed;
        job.spec.seed = seed;
        job.spec.width = w;
        job.spec.height = h;
        job.spec.prompt = QStringLiteral("<character_1>\n<n>%1</n>\n<appearance>teal_eyes</appearance>\n"
                                         "</character_1>")
                              .arg(name);
        imaging::RgbImage rgb{32, 32, std::vector<uint8_t>(32 * 32 * 3, static_cast<uint8_t>(seed * 37))};
        imaging::write_png_atomic(path.toStdString(), rgb,
                                  queue::pngRecord(job, {}, QStringLiteral("test"), QStringLiteral("test-queue")));
    }

    static void writeA1111Png(const QString& path) {
        imaging::RgbImage rgb{40, 24, std::vector<uint8_t>(40 * 24 * 3, 200)};
        imaging::write_png_atomic(path.toStdString(), rgb,
                                  {{"parameters", "1girl, silver_hair, smile\nNegative prompt: lowres, bad hands\n"
                                                  "Steps: 30, Sampler: Euler, CFG scale: 6.5, Seed: 123456789, "
                                                  "Size: 832x1216"}});
    }

    // Seeds 1..6, made on 2026-01-01 .. 2026-01-06 (noon, local time):
    //   1 miku watercolor ★2 ♥ g-a · 2 miku watercolor g-a · 3 rin oil ★4 W g-b · 4 rin oil ♥ g-b ·
    //   5 teto lineart ★5 · 6 luka pixel 832×1216.
    void addStandardImages() {
        struct Row {
            const char* name;
            const char* style;
            int rating;
            bool favourite;
            bool winner;
            const char* group;
            int w, h;
        };
        const Row rows[] = {
            {"hatsune_miku", "watercolor", 2, true, false, "g-a", 1024, 1024},
            {"hatsune_miku", "watercolor", 0, false, false, "g-a", 1024, 1024},
            {"kagamine_rin", "oil_painting", 4, false, true, "g-b", 1024, 1024},
            {"kagamine_rin", "oil_painting", 0, true, false, "g-b", 1024, 1024},
            {"kasane_teto", "lineart", 5, false, false, "", 1024, 1024},
            {"megurine_luka", "pixel_art", 0, false, false, "", 832, 1216},
        };
        QDir().mkpath(dir.filePath(QStringLiteral("images")));
        queue::GalleryStore store(queue::GalleryStore::pathNextTo(queuePath()));
        for (int i = 0; i < 6; ++i) {
            const Row& r = rows[i];
            queue::GalleryImage g;
            g.path = dir.filePath(QStringLiteral("images/%1.png").arg(i + 1));
            writeOurPng(g.path, QLatin1String(r.name), i + 1);
            g.spec.seed = i + 1;
            g.spec.width = r.w;
            g.spec.height = r.h;
            g.spec.prompt =
                QStringLiteral("<character_1>\n<n>%1</n>\n</character_1>\n<general_tags>\n<style>%2</style>\n"
                               "</general_tags>")
                    .arg(QLatin1String(r.name), QLatin1String(r.style));
            g.group = QLatin1String(r.group);
            g.created = QDateTime(QDate(2026, 1, i + 1), QTime(12, 0)).toMSecsSinceEpoch();
            const qint64 id = store.record(g);
            store.setRating(id, r.rating);
            store.setFavourite(id, r.favourite);
            store.setWinner(id, r.winner);
        }
    }
};

} // namespace charaforge::test
