#include "ui/decimal_spin_box.h"

#include <QLocale>

namespace charaforge::ui {

DecimalSpinBox::DecimalSpinBox(QWidget* parent) : QDoubleSpinBox(parent) {
    setDecimals(kDecimals);
}

QString DecimalSpinBox::textFromValue(double value) const {
    QLocale loc = locale();
    if (!isGroupSeparatorShown())
        loc.setNumberOptions(loc.numberOptions() | QLocale::OmitGroupSeparator);
    QString text = loc.toString(value, 'f', decimals());
    const QString point = loc.decimalPoint();
    if (!text.contains(point))
        return text;
    while (text.endsWith(QLatin1Char('0')))
        text.chop(1);
    if (text.endsWith(point))
        text.chop(point.size());
    return text;
}

} // namespace charaforge::ui
