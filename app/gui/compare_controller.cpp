#include "gui/compare_controller.h"

#include "gallery/image_details.h"

#include "queue/group_store.h"
#include "queue/job_store.h"
#include "ui/compare_view.h"
#include "ui/main_window.h"

#include <QHash>
#include <QSet>

namespace charaforge::app {

CompareController::CompareController(ui::MainWindow& window, queue::JobStore& jobs, queue::GroupStore& groups)
    : m_window(window), m_jobs(jobs), m_groups(groups) {}

CompareController::~CompareController() {
    delete m_view; // when the main window has not deleted it already
}

ui::CompareView* CompareController::view() const {
    return m_view;
}

queue::GalleryStore& CompareController::gallery() {
    if (!m_gallery)
        m_gallery = std::make_unique<queue::GalleryStore>(queue::GalleryStore::pathNextTo(m_jobs.path()));
    return *m_gallery;
}

ui::CompareSet CompareController::compareSet(const QString& groupId) {
    ui::CompareSet set;
    QList<queue::VariantAxis> axes;
    if (const auto g = m_groups.group(groupId)) {
        set.label = g->label;
        axes = g->axes;
    } else if (const auto remembered = gallery().group(groupId)) {
        set.label = remembered->label;
        axes = remembered->axes;
    }
    const auto images = gallery().search({.group = groupId, .sort = queue::GallerySort::OldestFirst});
    const auto members = m_groups.members(groupId);
    if (axes.isEmpty() && members.isEmpty() && images.isEmpty() && !m_groups.group(groupId) &&
        !gallery().group(groupId))
        return set; // unknown
    set.groupId = groupId;
    for (const auto& a : axes) {
        set.axisNames << a.name();
        set.axisValues << a.values;
    }

    QHash<qint64, const queue::GalleryImage*> imageOfJob;
    for (const auto& img : images)
        if (img.jobId != 0)
            imageOfJob.insert(img.jobId, &img);
    auto fill = [this](ui::CompareImage& c, const queue::GalleryImage& img) {
        c.imageId = img.id;
        c.path = img.path;
        c.rating = img.rating;
        c.winner = img.winner;
        c.state = QStringLiteral("done");
        c.details = gallery::imageDetailLines(gallery(), img).join(QLatin1Char('\n'));
    };
    QSet<qint64> shown;
    for (const auto& m : members) {
        ui::CompareImage c;
        c.jobId = m.jobId;
        c.axisValues = m.axisValues;
        const auto job = m_jobs.job(m.jobId);
        c.state = job ? queue::stateName(job->state) : QStringLiteral("removed");
        if (const auto* img = imageOfJob.value(m.jobId)) {
            fill(c, *img);
            shown.insert(img->id);
        }
        set.images << c;
    }
    // Images whose jobs left the queue (cleared, or another queue): from the gallery alone.
    for (const auto& img : images) {
        if (shown.contains(img.id))
            continue;
        ui::CompareImage c;
        c.jobId = img.jobId;
        c.axisValues = img.axisValues;
        fill(c, img);
        set.images << c;
    }
    if (set.axisValues.isEmpty()) {
        // Axes unknown (a group from an older gallery): each value position is an axis, values as they come.
        for (const auto& c : set.images)
            for (qsizetype a = 0; a < c.axisValues.size(); ++a) {
                while (set.axisValues.size() <= a) {
                    set.axisValues << QStringList{};
                    set.axisNames << tr("axis %1").arg(set.axisValues.size());
                }
                if (!set.axisValues[a].contains(c.axisValues[a]))
                    set.axisValues[a] << c.axisValues[a];
            }
        if (set.axisValues.isEmpty() && set.images.size() > 1) {
            // No axes at all (jobs queued together): one column per image.
            set.axisNames << tr("image");
            set.axisValues << QStringList{};
            for (auto& c : set.images) {
                c.axisValues = {QString::number(c.imageId != 0 ? c.imageId : c.jobId)};
                set.axisValues[0] << c.axisValues[0];
            }
        }
    }
    return set;
}

bool CompareController::openCompare(const QString& groupId) {
    ui::CompareSet set;
    try {
        set = compareSet(groupId);
    } catch (const std::exception& e) {
        m_window.showError(QString::fromStdString(e.what()));
        return false;
    }
    if (set.groupId.isEmpty()) {
        m_window.showError(tr("no group %1 in the queue or the gallery").arg(groupId));
        return false;
    }
    if (!m_view) {
        m_view = new ui::CompareView(&m_window); // a window of its own that closes with the studio
        m_view->setAttribute(Qt::WA_DeleteOnClose, false);
        connect(m_view, &ui::CompareView::ratingChanged, this, [this](qint64 id, int rating) {
            try {
                gallery().setRating(id, rating);
            } catch (const std::exception& e) {
                m_window.showError(QString::fromStdString(e.what()));
            }
            refresh();
        });
        connect(m_view, &ui::CompareView::winnerChanged, this, [this](qint64 id, bool winner) {
            try {
                gallery().setWinner(id, winner, true);
                if (winner)
                    m_window.showMessage(tr("Image %1 is its group's winner.").arg(id));
            } catch (const std::exception& e) {
                m_window.showError(QString::fromStdString(e.what()));
            }
            refresh();
        });
        connect(m_view, &ui::CompareView::branchRequested, this, &CompareController::branch);
    }
    m_view->setCompareSet(set);
    m_view->show();
    m_view->raise();
    m_view->activateWindow();
    return true;
}

bool CompareController::openCompareForImage(const QString& path) {
    try {
        const auto img = gallery().imageForPath(path);
        if (!img || img->group.isEmpty()) {
            m_window.showError(tr("%1 is not an image of a group in the gallery").arg(path));
            return false;
        }
        return openCompare(img->group);
    } catch (const std::exception& e) {
        m_window.showError(QString::fromStdString(e.what()));
        return false;
    }
}

bool CompareController::isComparing(const QString& groupId) const {
    return m_view && m_view->isVisible() && !groupId.isEmpty() && m_view->groupId() == groupId;
}

void CompareController::refresh() {
    if (!m_view || m_view->groupId().isEmpty())
        return;
    try {
        m_view->setCompareSet(compareSet(m_view->groupId()));
    } catch (const std::exception& e) {
        m_window.showError(QString::fromStdString(e.what()));
    }
}

void CompareController::branch(qint64 imageId) {
    try {
        const auto img = gallery().image(imageId);
        if (!img) {
            m_window.showError(tr("image %1 is no longer in the gallery").arg(imageId));
            return;
        }
        if (m_branch)
            m_branch(*img);
    } catch (const std::exception& e) {
        m_window.showError(QString::fromStdString(e.what()));
    }
}

} // namespace charaforge::app
