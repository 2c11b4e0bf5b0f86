#pragma once
// The job state names the app gives the views (JobView::state).
#include <QString>

namespace charaforge::ui::job_state {

inline const QString kQueued = QStringLiteral("queued");
inline const QString kRunning = QStringLiteral("running");
inline const QString kDone = QStringLiteral("done");
inline const QString kFailed = QStringLiteral("failed");
inline const QString kCancelled = QStringLiteral("cancelled");

inline bool isFinished(const QString& state) {
    return state == kDone || state == kFailed || state == kCancelled;
}

} // namespace charaforge::ui::job_state
