#pragma once
// The compare view's grid: a variant group as a table, the first axis's values down the side (row labels) and
// the product of the other axes across the top (column labels, values joined by " · "), one image per cell
// with its rating and winner mark. Thumbnails are read from the images' files when first shown, then cached.
#include "ui/studio_types.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QPixmap>
#include <QStringList>

namespace charaforge::ui {

class CompareGridModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Role {
        ImageIdRole = Qt::UserRole + 1, // qint64, 0 for a cell without an image
        PathRole,                       // QString
        RatingRole,                     // int 0..5
        WinnerRole,                     // bool
    };
    static constexpr int kThumbnailSize = 160;

    explicit CompareGridModel(QObject* parent = nullptr);

    void setCompareSet(const CompareSet& set);
    const CompareSet& compareSet() const { return m_set; }

    // The image shown in a cell (nullptr for an empty cell: no job has those values).
    const CompareImage* imageAt(const QModelIndex& index) const;
    // The cell of gallery image `imageId`; invalid when it is in none.
    QModelIndex indexOfImage(qint64 imageId) const;
    // Changes the marks shown (the app persists them); false when `imageId` is in no cell.
    bool setRating(qint64 imageId, int rating);
    // Marks `imageId` the winner (clearing the others when `winner`: one winner per group) or clears it.
    bool setWinner(qint64 imageId, bool winner);

    // "★★★☆☆" for a rating (empty for 0).
    static QString stars(int rating);

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    int columnCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    // The values of cell (row, column) on every axis.
    QStringList cellValues(int row, int column) const;
    int imageIndex(qint64 imageId) const;

    CompareSet m_set;
    QHash<QString, int> m_cellImage;              // axis values joined by '\n' -> index in m_set.images
    mutable QHash<QString, QPixmap> m_thumbnails; // by path
};

} // namespace charaforge::ui
