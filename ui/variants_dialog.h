#pragma once
// Variants…: one prompt expanded along axes into a group of jobs, as `charaforge-cli queue add --vary` does.
// Each row is one axis (style tag sets, seeds, CFG, steps, sampler, resolution, a character's tag field) with
// its alternatives separated by '|'; the product and its job count are shown before anything is queued. The
// dialog produces the same KIND=V1|V2 texts that the command line takes, so both go through one parser.
#include <QDialog>
#include <QList>
#include <QString>
#include <QStringList>

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QVBoxLayout;

namespace charaforge::ui {

class VariantsDialog : public QDialog {
    Q_OBJECT
public:
    explicit VariantsDialog(QWidget* parent = nullptr);

    // Adds an axis row: `kind` is one of kinds() ("style", "style+", "seeds", "seed", "cfg", "steps",
    // "sampler", "resolution", "character"), `values` its alternatives separated by '|'.
    void addAxis(const QString& kind, const QString& values, int character = 1, const QString& field = {});
    int axisCount() const { return static_cast<int>(m_rows.size()); }
    // The form's image count: with no seed axis among the rows, it is a seed axis of that many seeds.
    void setFormCount(int count);

    // The axes as `--vary` texts ("style=watercolor|cel shading", "seeds=4", "character_1.clothing+=hat|cap").
    QStringList varyTexts() const;
    QString label() const;
    // Jobs the product gives (0 while a row is empty or invalid).
    qint64 jobCount() const;
    // "style (3) × seeds (4) = 12 jobs", or what is missing.
    QString productText() const;

    static QStringList kinds();

private:
    struct Row {
        QWidget* widget = nullptr;
        QComboBox* kind = nullptr;
        QLineEdit* values = nullptr;
        QSpinBox* character = nullptr;
        QComboBox* field = nullptr;
    };
    QString axisName(const Row& row) const;
    qint64 valueCount(const Row& row) const;
    void removeRow(QWidget* widget);
    void update();

    QVBoxLayout* m_rowsLayout = nullptr;
    bool hasSeedAxis() const;

    QList<Row> m_rows;
    int m_formCount = 1;
    QLineEdit* m_label = nullptr;
    QLabel* m_product = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace charaforge::ui
