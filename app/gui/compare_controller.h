#pragma once
// The compare view's app side: builds a variant group's CompareSet from the queue's group (axes, jobs, their
// states) and the gallery (images, ratings, winners, lineage), opens the view, persists its marks in the
// gallery and hands "Branch from here" to whoever loads settings into the editor.
#include "queue/gallery_store.h"
#include "ui/studio_types.h"

#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>

namespace charaforge::queue {
class JobStore;
class GroupStore;
} // namespace charaforge::queue

namespace charaforge::ui {
class CompareView;
class MainWindow;
} // namespace charaforge::ui

namespace charaforge::app {

class CompareController : public QObject {
    Q_OBJECT
public:
    // The gallery is the one next to `jobs`' queue (opened on first use).
    CompareController(ui::MainWindow& window, queue::JobStore& jobs, queue::GroupStore& groups);
    ~CompareController() override;

    // Opens (or raises) the compare view of group `groupId`; false, with the reason in the status bar, when
    // neither the queue nor the gallery knows the group.
    bool openCompare(const QString& groupId);
    // The compare view of the image at `path` (a gallery image of a group).
    bool openCompareForImage(const QString& path);
    // The view (nullptr until first opened).
    ui::CompareView* view() const;
    // The group as the view shows it (an empty groupId when the group is unknown).
    ui::CompareSet compareSet(const QString& groupId);
    // Re-reads the open view's group (an image finished, a mark changed elsewhere).
    void refresh();
    // True while the view shows group `groupId` (open and visible).
    bool isComparing(const QString& groupId) const;

    queue::GalleryStore& gallery();
    // "Branch from here": the image to load into the editor.
    void setBranchHandler(std::function<void(const queue::GalleryImage&)> handler) { m_branch = std::move(handler); }

private:
    void branch(qint64 imageId);

    ui::MainWindow& m_window;
    queue::JobStore& m_jobs;
    queue::GroupStore& m_groups;
    std::unique_ptr<queue::GalleryStore> m_gallery;
    QPointer<ui::CompareView> m_view;
    std::function<void(const queue::GalleryImage&)> m_branch;
};

} // namespace charaforge::app
