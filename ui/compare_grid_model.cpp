#include "ui/compare_grid_model.h"

#include <QColor>
#include <QFileInfo>
#include <QImageReader>

namespace charaforge::ui {

namespace {

QString key(const QStringList& values) {
    return values.join(QLatin1Char('\n'));
}

} // namespace

CompareGridModel::CompareGridModel(QObject* parent) : QAbstractTableModel(parent) {}

QString CompareGridModel::stars(int rating) {
    if (rating <= 0)
        return {};
    return QString(rating, QChar(0x2605)) + QString(5 - std::min(rating, 5), QChar(0x2606));
}

void CompareGridModel::setCompareSet(const CompareSet& set) {
    beginResetModel();
    m_set = set;
    m_cellImage.clear();
    for (qsizetype i = 0; i < m_set.images.size(); ++i) {
        const QString k = key(m_set.images[i].axisValues);
        // A copy of a job (same values) shows only when the first has no image.
        auto it = m_cellImage.constFind(k);
        if (it == m_cellImage.constEnd() || (m_set.images[*it].imageId == 0 && m_set.images[i].imageId != 0))
            m_cellImage.insert(k, static_cast<int>(i));
    }
    endResetModel();
}

int CompareGridModel::rowCount(const QModelIndex& parent) const {
    if (parent.isValid())
        return 0;
    return m_set.axisValues.size() >= 2 ? static_cast<int>(m_set.axisValues[0].size()) : 1;
}

int CompareGridModel::columnCount(const QModelIndex& parent) const {
    if (parent.isValid())
        return 0;
    if (m_set.axisValues.isEmpty())
        return 1;
    if (m_set.axisValues.size() == 1)
        return static_cast<int>(m_set.axisValues[0].size());
    qsizetype product = 1;
    for (qsizetype a = 1; a < m_set.axisValues.size(); ++a)
        product *= m_set.axisValues[a].size();
    return static_cast<int>(product);
}

QStringList CompareGridModel::cellValues(int row, int column) const {
    const auto& axes = m_set.axisValues;
    if (axes.isEmpty())
        return {};
    if (axes.size() == 1)
        return {axes[0].value(column)};
    // The columns are the product of axes 1..n, the last varying fastest (the expansion's order).
    QStringList tail;
    int rest = column;
    for (qsizetype a = axes.size() - 1; a >= 1; --a) {
        const int n = std::max<int>(1, static_cast<int>(axes[a].size()));
        tail.prepend(axes[a].value(rest % n));
        rest /= n;
    }
    return QStringList{axes[0].value(row)} + tail;
}

const CompareImage* CompareGridModel::imageAt(const QModelIndex& index) const {
    if (!index.isValid() || index.model() != this)
        return nullptr;
    if (m_set.axisValues.isEmpty())
        return m_set.images.isEmpty() ? nullptr : &m_set.images.front();
    auto it = m_cellImage.constFind(key(cellValues(index.row(), index.column())));
    return it == m_cellImage.constEnd() ? nullptr : &m_set.images[*it];
}

QModelIndex CompareGridModel::indexOfImage(qint64 imageId) const {
    if (imageId == 0)
        return {};
    for (int r = 0; r < rowCount(); ++r)
        for (int c = 0; c < columnCount(); ++c)
            if (const CompareImage* img = imageAt(index(r, c)); img && img->imageId == imageId)
                return index(r, c);
    return {};
}

int CompareGridModel::imageIndex(qint64 imageId) const {
    for (qsizetype i = 0; i < m_set.images.size(); ++i)
        if (imageId != 0 && m_set.images[i].imageId == imageId)
            return static_cast<int>(i);
    return -1;
}

bool CompareGridModel::setRating(qint64 imageId, int rating) {
    const int i = imageIndex(imageId);
    if (i < 0)
        return false;
    m_set.images[i].rating = std::clamp(rating, 0, 5);
    const QModelIndex cell = indexOfImage(imageId);
    Q_EMIT dataChanged(cell, cell);
    return true;
}

bool CompareGridModel::setWinner(qint64 imageId, bool winner) {
    const int i = imageIndex(imageId);
    if (i < 0)
        return false;
    for (auto& img : m_set.images)
        if (winner)
            img.winner = false;
    m_set.images[i].winner = winner;
    if (rowCount() > 0 && columnCount() > 0)
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
    return true;
}

QVariant CompareGridModel::data(const QModelIndex& index, int role) const {
    const CompareImage* img = imageAt(index);
    if (!img)
        return role == Qt::DisplayRole && index.isValid() ? QVariant(tr("(none)")) : QVariant();
    switch (role) {
    case ImageIdRole:
        return img->imageId;
    case PathRole:
        return img->path;
    case RatingRole:
        return img->rating;
    case WinnerRole:
        return img->winner;
    case Qt::DisplayRole: {
        if (img->imageId == 0)
            return img->state;
        if (!QFileInfo::exists(img->path))
            return tr("missing");
        QString text = stars(img->rating);
        if (img->winner)
            text = (text.isEmpty() ? QString() : text + QStringLiteral("  ")) + tr("winner");
        return text;
    }
    case Qt::DecorationRole: {
        if (img->imageId == 0 || img->path.isEmpty())
            return {};
        auto it = m_thumbnails.constFind(img->path);
        if (it == m_thumbnails.constEnd()) {
            QImageReader reader(img->path);
            const QSize size = reader.size();
            if (size.isValid() && (size.width() > kThumbnailSize || size.height() > kThumbnailSize))
                reader.setScaledSize(size.scaled(kThumbnailSize, kThumbnailSize, Qt::KeepAspectRatio));
            it = m_thumbnails.insert(img->path, QPixmap::fromImage(reader.read())); // null when unreadable
        }
        return it->isNull() ? QVariant() : QVariant(*it);
    }
    case Qt::BackgroundRole:
        return img->winner ? QVariant(QColor(255, 215, 90, 110)) : QVariant();
    case Qt::ToolTipRole:
        return img->details;
    default:
        return {};
    }
}

QVariant CompareGridModel::headerData(int section, Qt::Orientation orientation, int role) const {
    const auto& axes = m_set.axisValues;
    if (role == Qt::ToolTipRole) {
        if (orientation == Qt::Vertical)
            return axes.size() >= 2 ? m_set.axisNames.value(0) : QString();
        return (axes.size() >= 2 ? m_set.axisNames.mid(1) : m_set.axisNames).join(QStringLiteral(" · "));
    }
    if (role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (orientation == Qt::Vertical) {
        if (axes.size() >= 2)
            return axes[0].value(section);
        return m_set.axisNames.value(0, m_set.label);
    }
    QStringList values = cellValues(0, section);
    if (axes.size() >= 2)
        values.removeFirst();
    return values.join(QStringLiteral(" · "));
}

} // namespace charaforge::ui
