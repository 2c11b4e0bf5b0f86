#include "ui/variants_dialog.h"

#include "charaforge/prompt/prompt.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

namespace charaforge::ui {

namespace {

// Same bound as the queue's (queue::kMaxVariantJobs): a product past it is refused there too.
constexpr qint64 kMaxJobs = 10000;

struct KindInfo {
    const char* key;
    const char* title;
    const char* placeholder;
};
constexpr KindInfo kKinds[] = {
    {"style", "Style (replaces <style>)", "watercolor | cel shading, flat colors | sketch"},
    {"style+", "Style (adds to <style>)", "soft lighting | rim light"},
    {"seeds", "Seeds (count, from the form's seed)", "4"},
    {"seed", "Seed values", "1 | 42 | 1234"},
    {"cfg", "Guidance (CFG)", "3.5 | 5 | 7"},
    {"steps", "Steps", "20 | 28 | 40"},
    {"sampler", "Sampler", "euler | midpoint | dpm"},
    {"resolution", "Resolution", "832x1216 | 1024x1024"},
    {"character", "A character's tag field", "school uniform | maid outfit"},
};

const KindInfo& kindInfo(const QString& key) {
    for (const auto& k : kKinds)
        if (key == QLatin1String(k.key))
            return k;
    return kKinds[0];
}

QStringList alternatives(const QString& text) {
    QStringList out;
    for (const auto& part : text.split(QLatin1Char('|')))
        if (!part.trimmed().isEmpty())
            out << part.trimmed();
    return out;
}

} // namespace

QStringList VariantsDialog::kinds() {
    QStringList out;
    for (const auto& k : kKinds)
        out << QString::fromLatin1(k.key);
    return out;
}

VariantsDialog::VariantsDialog(QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Variants"));
    auto* layout = new QVBoxLayout(this);
    auto* intro = new QLabel(tr("Queue one group of jobs: every combination of the alternatives below. Separate the "
                                "alternatives of an axis with |."),
                             this);
    intro->setWordWrap(true);
    layout->addWidget(intro);
    m_rowsLayout = new QVBoxLayout;
    layout->addLayout(m_rowsLayout);
    auto* add = new QPushButton(tr("Add axis"), this);
    add->setObjectName(QStringLiteral("addAxis"));
    connect(add, &QPushButton::clicked, this, [this] { addAxis(QStringLiteral("style"), {}); });
    layout->addWidget(add, 0, Qt::AlignLeft);
    auto* form = new QFormLayout;
    m_label = new QLineEdit(this);
    m_label->setObjectName(QStringLiteral("groupLabel"));
    m_label->setPlaceholderText(tr("e.g. styles for Miku (default: the axes)"));
    form->addRow(tr("Group label"), m_label);
    layout->addLayout(form);
    m_product = new QLabel(this);
    m_product->setObjectName(QStringLiteral("product"));
    layout->addWidget(m_product);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(m_buttons);
    resize(640, 320);
    update();
}

void VariantsDialog::addAxis(const QString& kind, const QString& values, int character, const QString& field) {
    Row row;
    row.widget = new QWidget(this);
    auto* h = new QHBoxLayout(row.widget);
    h->setContentsMargins(0, 0, 0, 0);
    row.kind = new QComboBox(row.widget);
    row.kind->setObjectName(QStringLiteral("axisKind"));
    for (const auto& k : kKinds)
        row.kind->addItem(tr(k.title), QString::fromLatin1(k.key));
    row.kind->setCurrentIndex(std::max(0, row.kind->findData(kind)));
    row.character = new QSpinBox(row.widget);
    row.character->setRange(1, 9);
    row.character->setPrefix(tr("character "));
    row.character->setValue(character);
    row.field = new QComboBox(row.widget);
    for (const auto& f : prompt::character_fields)
        if (QLatin1String(f.name) != QLatin1String("n"))
            row.field->addItem(QString::fromLatin1(f.name));
    if (!field.isEmpty())
        row.field->setCurrentText(field);
    row.values = new QLineEdit(values, row.widget);
    row.values->setObjectName(QStringLiteral("axisValues"));
    auto* remove = new QToolButton(row.widget);
    remove->setText(QStringLiteral("✕"));
    remove->setToolTip(tr("Remove this axis"));
    h->addWidget(row.kind);
    h->addWidget(row.character);
    h->addWidget(row.field);
    h->addWidget(row.values, 1);
    h->addWidget(remove);
    QWidget* w = row.widget;
    connect(remove, &QToolButton::clicked, this, [this, w] { removeRow(w); });
    connect(row.kind, &QComboBox::currentIndexChanged, this, &VariantsDialog::update);
    connect(row.values, &QLineEdit::textChanged, this, &VariantsDialog::update);
    connect(row.character, &QSpinBox::valueChanged, this, &VariantsDialog::update);
    connect(row.field, &QComboBox::currentIndexChanged, this, &VariantsDialog::update);
    m_rowsLayout->addWidget(row.widget);
    m_rows.push_back(row);
    update();
    row.values->setFocus();
}

void VariantsDialog::removeRow(QWidget* widget) {
    for (int i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].widget == widget) {
            m_rows.removeAt(i);
            widget->deleteLater();
            break;
        }
    update();
}

QString VariantsDialog::axisName(const Row& row) const {
    const QString kind = row.kind->currentData().toString();
    if (kind == QLatin1String("character"))
        return QStringLiteral("character_%1.%2").arg(row.character->value()).arg(row.field->currentText());
    return kind;
}

qint64 VariantsDialog::valueCount(const Row& row) const {
    const QString kind = row.kind->currentData().toString();
    if (kind == QLatin1String("seeds")) {
        bool ok = false;
        const qint64 n = row.values->text().trimmed().toLongLong(&ok);
        return ok && n >= 1 && n <= kMaxJobs ? n : 0;
    }
    return alternatives(row.values->text()).size();
}

QStringList VariantsDialog::varyTexts() const {
    QStringList out;
    for (const auto& row : m_rows) {
        const QString kind = row.kind->currentData().toString();
        const QString values = kind == QLatin1String("seeds") ? row.values->text().trimmed()
                                                              : alternatives(row.values->text()).join(QLatin1Char('|'));
        out << axisName(row) + QLatin1Char('=') + values;
    }
    return out;
}

QString VariantsDialog::label() const {
    return m_label->text().trimmed();
}

void VariantsDialog::setFormCount(int count) {
    m_formCount = std::max(1, count);
    update();
}

bool VariantsDialog::hasSeedAxis() const {
    for (const auto& row : m_rows) {
        const QString kind = row.kind->currentData().toString();
        if (kind == QLatin1String("seed") || kind == QLatin1String("seeds"))
            return true;
    }
    return false;
}

qint64 VariantsDialog::jobCount() const {
    if (m_rows.isEmpty())
        return 0;
    qint64 n = hasSeedAxis() ? 1 : m_formCount;
    for (const auto& row : m_rows) {
        const qint64 c = valueCount(row);
        if (c == 0)
            return 0;
        n *= c;
        if (n > kMaxJobs)
            return n; // already too many; the caller says so
    }
    return n;
}

QString VariantsDialog::productText() const {
    if (m_rows.isEmpty())
        return tr("Add an axis to vary.");
    QStringList parts;
    for (const auto& row : m_rows) {
        const qint64 c = valueCount(row);
        if (c == 0)
            return row.kind->currentData().toString() == QLatin1String("seeds")
                       ? tr("Seeds: give a count from 1 to %1.").arg(kMaxJobs)
                       : tr("%1: give at least one alternative.").arg(axisName(row));
        parts << QStringLiteral("%1 (%2)").arg(axisName(row)).arg(c);
    }
    if (m_formCount > 1 && !hasSeedAxis())
        parts << tr("seed (%1, the form's count)").arg(m_formCount);
    const qint64 n = jobCount();
    if (n > kMaxJobs)
        return tr("%1 = more than %2 jobs: too many for one group.")
            .arg(parts.join(QStringLiteral(" × ")))
            .arg(kMaxJobs);
    return (n == 1 ? tr("%1 = 1 job") : tr("%1 = %2 jobs").arg(QStringLiteral("%1"), QString::number(n)))
        .arg(parts.join(QStringLiteral(" × ")));
}

void VariantsDialog::update() {
    for (const auto& row : m_rows) {
        const QString kind = row.kind->currentData().toString();
        const bool character = kind == QLatin1String("character");
        row.character->setVisible(character);
        row.field->setVisible(character);
        row.values->setPlaceholderText(tr(kindInfo(kind).placeholder));
    }
    m_product->setText(productText());
    const qint64 n = jobCount();
    auto* ok = m_buttons->button(QDialogButtonBox::Ok);
    ok->setEnabled(n >= 1 && n <= kMaxJobs);
    ok->setText(n == 1 ? tr("Queue 1 job") : n >= 2 && n <= kMaxJobs ? tr("Queue %1 jobs").arg(n) : tr("Queue"));
}

} // namespace charaforge::ui
