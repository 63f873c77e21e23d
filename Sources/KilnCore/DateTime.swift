/// Calendar arithmetic for DATE (days since 1970-01-01) and TIMESTAMP (microseconds since
/// 1970-01-01 00:00:00), proleptic Gregorian as PostgreSQL uses.
public enum DateMath {
    public static let microsPerSecond: Int64 = 1_000_000
    public static let microsPerDay: Int64 = 86_400_000_000

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day number.
    public static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Whether text has the shape `digits-digits-digits` (so a failed parse is a range error).
    public static func looksLikeDate(_ text: Substring) -> Bool {
        let parts = text.trimmingSpaces.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    /// Parses `YYYY-MM-DD` (leading/trailing spaces allowed).
    /// The last year of a DATE or TIMESTAMP: microseconds since 1970 in 64 bits reach into the
    /// year 294247, so every date converts to a timestamp (PostgreSQL's timestamps, counted from
    /// 2000, reach 294276; its dates go further).
    public static let maxYear = 294_246
    /// The first and last day a DATE holds (days since 1970-01-01).
    public static let dayRange = Int32(days(year: -4713, month: 1, day: 1))...Int32(days(year: maxYear, month: 12, day: 31))

    public static func parseDate(_ text: Substring) -> Int32? {
        let trimmed = text.trimmingSpaces
        let parts = trimmed.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              parts[0].count >= 1, (1...12).contains(m), d >= 1, d <= daysInMonth(year: y, month: m),
              (-4713...maxYear).contains(y) else { return nil }
        return Int32(days(year: y, month: m, day: d))
    }

    /// Parses `YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]` (also with `T`).
    public static func parseTimestamp(_ text: Substring) -> Int64? {
        let trimmed = text.trimmingSpaces
        let separator = trimmed.firstIndex(where: { $0 == " " || $0 == "T" })
        let datePart = separator.map { trimmed[..<$0] } ?? trimmed
        guard let day = parseDate(datePart) else { return nil }
        var micros = Int64(day) * microsPerDay
        if let separator {
            let timePart = trimmed[trimmed.index(after: separator)...].trimmingSpaces
            guard let time = parseTime(timePart) else { return nil }
            micros += time
        }
        return micros
    }

    /// Parses `HH:MM[:SS[.ffffff]]` to microseconds since midnight.
    public static func parseTime(_ text: Substring) -> Int64? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= 3, let h = Int64(parts[0]), let m = Int64(parts[1]),
              (0...24).contains(h), (0...59).contains(m) else { return nil }
        var micros = (h * 3600 + m * 60) * microsPerSecond
        if parts.count == 3 {
            let secondParts = parts[2].split(separator: ".", omittingEmptySubsequences: false)
            guard let s = Int64(secondParts[0]), (0...60).contains(s), secondParts.count <= 2 else { return nil }
            micros += s * microsPerSecond
            if secondParts.count == 2 {
                let fraction = secondParts[1]
                guard !fraction.isEmpty, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                var digits = String(fraction.prefix(7))
                while digits.count < 7 { digits += "0" }
                var value = Int64(digits)!
                value = (value + 5) / 10  // round to microseconds
                micros += value
            }
        }
        return micros
    }

    public static func formatDate(_ days: Int32) -> String {
        let (y, m, d) = civil(Int(days))
        let yearText = y > 0 ? pad(y, 4) : pad(1 - y, 4)
        return "\(yearText)-\(pad(m, 2))-\(pad(d, 2))" + (y > 0 ? "" : " BC")
    }

    public static func formatTimestamp(_ micros: Int64) -> String {
        var day = micros / microsPerDay
        var rest = micros % microsPerDay
        if rest < 0 { rest += microsPerDay; day -= 1 }
        let seconds = rest / microsPerSecond
        let fraction = rest % microsPerSecond
        var text = formatDate(Int32(day)) + " \(pad(Int(seconds / 3600), 2)):\(pad(Int(seconds / 60 % 60), 2)):\(pad(Int(seconds % 60), 2))"
        if text.hasSuffix(" BC") { text = String(text.dropLast(3)) }
        if fraction != 0 {
            var digits = pad(Int(fraction), 6)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// Adds months to a date, clamping the day to the month's end as PostgreSQL does.
    public static func addMonths(days: Int, months: Int) -> Int {
        let (y, m, d) = civil(days)
        let total = y * 12 + (m - 1) + months
        let newYear = total >= 0 ? total / 12 : (total - 11) / 12
        let newMonth = total - newYear * 12 + 1
        return DateMath.days(year: newYear, month: newMonth, day: min(d, daysInMonth(year: newYear, month: newMonth)))
    }

    /// timestamp + interval.
    public static func add(timestamp: Int64, interval: Interval) -> Int64? {
        var result = timestamp
        if interval.months != 0 {
            var day = result / microsPerDay
            var rest = result % microsPerDay
            if rest < 0 { rest += microsPerDay; day -= 1 }
            let (start, o) = Int64(addMonths(days: Int(day), months: Int(interval.months))).multipliedReportingOverflow(by: microsPerDay)
            if o { return nil }
            result = start + rest
        }
        let (daySpan, o0) = Int64(interval.days).multipliedReportingOverflow(by: microsPerDay)
        let (withDays, o1) = result.addingReportingOverflow(daySpan)
        let (withMicros, o2) = withDays.addingReportingOverflow(interval.micros)
        return o0 || o1 || o2 ? nil : withMicros
    }

    static let truncationUnits: Set<String> = ["microseconds", "milliseconds", "second", "minute", "hour", "day", "week", "month", "quarter", "year", "decade", "century", "millennium"]

    /// Whether `date_trunc` knows the unit (lower case, PostgreSQL's names).
    public static func isTruncationUnit(_ unit: String) -> Bool { truncationUnits.contains(unit) }

    /// date_trunc(unit, timestamp): the timestamp rounded down to the unit's start.
    public static func truncate(_ unit: String, micros: Int64) -> Int64 {
        var day = micros / microsPerDay
        var rest = micros % microsPerDay
        if rest < 0 { rest += microsPerDay; day -= 1 }
        func floorTo(_ value: Int64, _ step: Int64) -> Int64 { value - ((value % step) + step) % step }
        let (y, m, _) = civil(Int(day))
        func start(year: Int, month: Int) -> Int64 { Int64(days(year: year, month: month, day: 1)) * microsPerDay }
        // Years before 1 count from 1 BC = year 0 here; PostgreSQL's centuries start at year 1.
        switch unit {
        case "microseconds": return micros
        case "milliseconds": return floorTo(micros, 1000)
        case "second": return floorTo(micros, microsPerSecond)
        case "minute": return floorTo(micros, 60 * microsPerSecond)
        case "hour": return floorTo(micros, 3600 * microsPerSecond)
        case "day": return day * microsPerDay
        case "week":
            // ISO weeks start on Monday; 1970-01-01 was a Thursday.
            let weekday = ((day + 3) % 7 + 7) % 7
            return (day - weekday) * microsPerDay
        case "month": return start(year: y, month: m)
        case "quarter": return start(year: y, month: (m - 1) / 3 * 3 + 1)
        case "year": return start(year: y, month: 1)
        case "decade": return start(year: y >= 0 ? y / 10 * 10 : (y - 9) / 10 * 10, month: 1)
        case "century": return start(year: y > 0 ? (y - 1) / 100 * 100 + 1 : -((-y) / 100 * 100 + 99), month: 1)
        case "millennium": return start(year: y > 0 ? (y - 1) / 1000 * 1000 + 1 : -((-y) / 1000 * 1000 + 999), month: 1)
        default: return micros
        }
    }

    /// EXTRACT(field FROM timestamp) as a scaled decimal with scale 6 for seconds fields, else 0.
    public static func extract(_ field: String, micros: Int64) -> Int128? {
        var day = micros / microsPerDay
        var rest = micros % microsPerDay
        if rest < 0 { rest += microsPerDay; day -= 1 }
        let (y, m, d) = civil(Int(day))
        switch field {
        case "year": return Int128(y)
        case "month": return Int128(m)
        case "day": return Int128(d)
        case "hour": return Int128(rest / 3_600_000_000)
        case "minute": return Int128(rest / 60_000_000 % 60)
        case "second": return Int128(rest % 60_000_000)  // scale 6
        case "quarter": return Int128((m - 1) / 3 + 1)
        case "dow": return Int128(((Int(day) % 7) + 7 + 4) % 7)
        case "isodow": let dow = ((Int(day) % 7) + 7 + 4) % 7; return Int128(dow == 0 ? 7 : dow)
        case "doy": return Int128(Int(day) - days(year: y, month: 1, day: 1) + 1)
        case "decade": return Int128(y >= 0 ? y / 10 : (y - 9) / 10)
        case "century": return Int128(y > 0 ? (y + 99) / 100 : -((99 - y) / 100))
        case "millennium": return Int128(y > 0 ? (y + 999) / 1000 : -((999 - y) / 1000))
        case "epoch": return Int128(micros)  // scale 6
        case "microseconds": return Int128(rest % 60_000_000)
        case "milliseconds": return Int128(rest % 60_000_000)  // scale 3 after /1000 by caller
        default: return nil
        }
    }
}

/// A PostgreSQL interval: months, days and microseconds kept apart (a month is not 30 days).
public struct Interval: Hashable, Sendable {
    public var months: Int32
    public var days: Int32
    public var micros: Int64

    public init(months: Int32 = 0, days: Int32 = 0, micros: Int64 = 0) {
        self.months = months
        self.days = days
        self.micros = micros
    }

    /// Packs into 128 bits: micros in the low word, days then months in the high word.
    public var packed: Int128 {
        let high = (UInt64(UInt32(bitPattern: months)) << 32) | UInt64(UInt32(bitPattern: days))
        return Int128(bitPattern: (UInt128(high) << 64) | UInt128(UInt64(bitPattern: micros)))
    }

    public init(packed: Int128) {
        let bits = UInt128(bitPattern: packed)
        micros = Int64(bitPattern: UInt64(truncatingIfNeeded: bits))
        let high = UInt64(truncatingIfNeeded: bits >> 64)
        days = Int32(bitPattern: UInt32(truncatingIfNeeded: high))
        months = Int32(bitPattern: UInt32(truncatingIfNeeded: high >> 32))
    }

    /// The sum (`sign` 1) or difference (-1) field by field, as PostgreSQL adds intervals; nil
    /// when a field leaves its range.
    public func adding(_ other: Interval, sign: Int32 = 1) -> Interval? {
        let m = sign == 1 ? months.addingReportingOverflow(other.months) : months.subtractingReportingOverflow(other.months)
        let d = sign == 1 ? days.addingReportingOverflow(other.days) : days.subtractingReportingOverflow(other.days)
        let u = sign == 1 ? micros.addingReportingOverflow(other.micros) : micros.subtractingReportingOverflow(other.micros)
        if m.overflow || d.overflow || u.overflow { return nil }
        return Interval(months: m.partialValue, days: d.partialValue, micros: u.partialValue)
    }

    /// The negated interval; nil when a field is at its minimum.
    public var negated: Interval? { Interval().adding(self, sign: -1) }

    /// The interval times `factor` (division: times 1 / divisor, computed as a division), as
    /// PostgreSQL scales intervals: each field is scaled and truncated, the fraction of the
    /// months goes to days (30 a month) and the fraction of the days to time, both rounded to
    /// the microsecond; nil when a field leaves its range (or the factor is not a number).
    public func scaled(by factor: Double, dividing: Bool = false) -> Interval? {
        func apply(_ x: Double) -> Double { dividing ? x / factor : x * factor }
        /// To the microsecond, as PostgreSQL rounds the remainders it carries down.
        func toMicrosecond(_ x: Double) -> Double { (x * 1_000_000).rounded(.toNearestOrEven) / 1_000_000 }
        func int32(_ x: Double) -> Int32? { x.isNaN || x < -2_147_483_648 || x >= 2_147_483_648 ? nil : Int32(x) }
        let monthsScaled = apply(Double(months)), daysScaled = apply(Double(days))
        guard let newMonths = int32(monthsScaled), var newDays = int32(daysScaled) else { return nil }
        let monthRemainderDays = toMicrosecond((monthsScaled - Double(newMonths)) * 30)
        var secondsRemainder = toMicrosecond((daysScaled - Double(newDays) + monthRemainderDays - monthRemainderDays.rounded(.towardZero)) * 86_400)
        // Rounding may leave a whole day or more in the seconds: it moves up to the days.
        if abs(secondsRemainder) >= 86_400 {
            let wholeDays = (secondsRemainder / 86_400).rounded(.towardZero)
            guard let carried = int32(Double(newDays) + wholeDays) else { return nil }
            newDays = carried
            secondsRemainder -= wholeDays * 86_400
        }
        guard let withMonthDays = int32(Double(newDays) + monthRemainderDays.rounded(.towardZero)) else { return nil }
        newDays = withMonthDays
        let time = (apply(Double(micros)) + secondsRemainder * 1_000_000).rounded(.toNearestOrEven)
        guard !time.isNaN, time >= -9.223372036854775808e18, time < 9.223372036854775808e18 else { return nil }
        return Interval(months: newMonths, days: newDays, micros: Int64(time))
    }

    /// The span in microseconds with PostgreSQL's 30-day months, for ordering.
    public var comparableMicros: Int128 {
        Int128(months) * 30 * Int128(DateMath.microsPerDay) + Int128(days) * Int128(DateMath.microsPerDay) + Int128(micros)
    }

    /// Parses PostgreSQL's interval input: `'1 day'`, `'3 months'`, `'1 year 2 mons 3 days 04:05:06'`,
    /// `'90 minutes'`, `'1.5 months'`. A fraction of a unit goes down as PostgreSQL carries it:
    /// of a year to whole months, of a month to days (30 a month), of a week or a day to days
    /// and time. Nil when the text is not an interval.
    /// - Throws: 22015 for a number or a field's sum beyond 32 bits, 22008 when years and
    ///   months together leave an interval's range.
    public static func parse(_ text: Substring) throws(DatabaseError) -> Interval? {
        var years: Int64 = 0, months: Int64 = 0, days: Int64 = 0, micros: Int64 = 0
        var tokens = text.lowercased().split(whereSeparator: { $0 == " " })
        // PostgreSQL's verbose form: an optional leading `@`, and `ago` negating every field.
        if tokens.first == "@" { tokens.removeFirst() } else if let first = tokens.first, first.hasPrefix("@") { tokens[0] = first.dropFirst() }
        let ago = tokens.last == "ago"
        if ago { tokens.removeLast() }
        let outOfRange = DatabaseError(SQLState("22015"), "interval field value out of range: \"\(text)\"")
        /// Whole units of a value (numbers are below 2^31, or seconds below 2^63 µs).
        func whole(_ x: Double) -> Int64 { x >= 9.223372036854775807e18 ? .max : x <= -9.223372036854775808e18 ? .min : Int64(x.rounded(.towardZero)) }
        func addMicros(_ x: Double) throws(DatabaseError) {
            guard x >= -9.223372036854775808e18, x < 9.223372036854775808e18 else { throw outOfRange }
            let (sum, overflow) = micros.addingReportingOverflow(Int64(x.rounded()))
            if overflow { throw outOfRange }
            micros = sum
        }
        /// `amount` units of `unit` microseconds: the whole units exactly, the fraction rounded.
        func addTime(_ amount: Double, _ unit: Int64) throws(DatabaseError) {
            let w = whole(amount)
            let (span, overflow) = w.multipliedReportingOverflow(by: unit)
            let (sum, overflow2) = micros.addingReportingOverflow(span)
            if overflow || overflow2 { throw outOfRange }
            micros = sum
            try addMicros((amount - Double(w)) * Double(unit))
        }
        func addDays(_ x: Double) throws(DatabaseError) {
            let w = whole(x)
            days += w
            try addMicros((x - Double(w)) * 86_400_000_000)
        }
        var index = 0
        var sawAny = false
        while index < tokens.count {
            let token = tokens[index]
            if token.contains(":") {
                var negative = false
                var body = Substring(token)
                if body.hasPrefix("-") { negative = true; body = body.dropFirst() }
                guard let time = DateMath.parseTime(body) else { return nil }
                try addMicros(Double(negative ? -time : time))
                sawAny = true
                index += 1
                continue
            }
            // Digits with an optional sign and fraction (no exponent, as PostgreSQL reads them);
            // a number of any unit but seconds beyond a 32-bit integer is out of range.
            guard token.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-" || $0 == "+") }),
                  let amount = Double(token), amount.isFinite else { return nil }
            let seconds = index + 1 >= tokens.count || ["second", "seconds", "sec", "secs", "s"].contains(tokens[index + 1])
            guard seconds || (amount >= -2_147_483_648 && amount < 2_147_483_648) else { throw outOfRange }
            guard index + 1 < tokens.count else {
                // A bare number means seconds.
                try addTime(amount, 1_000_000)
                sawAny = true
                index += 1
                continue
            }
            let unit = tokens[index + 1]
            switch unit {
            case "year", "years", "y", "yr", "yrs", "decade", "decades", "dec", "decs", "century", "centuries", "c", "cent",
                 "millennium", "millennia", "mil", "mils":
                let factor: Double = unit.hasPrefix("dec") ? 10 : unit.hasPrefix("c") ? 100 : unit.hasPrefix("mil") ? 1000 : 1
                let w = whole(amount * factor)
                years += w
                months += Int64(((amount * factor - Double(w)) * 12).rounded())
            case "month", "months", "mon", "mons":
                let w = whole(amount)
                months += w
                try addDays((amount - Double(w)) * 30)
            case "week", "weeks", "w": try addDays(amount * 7)
            case "day", "days", "d": try addDays(amount)
            case "hour", "hours", "h", "hr", "hrs": try addTime(amount, 3_600_000_000)
            case "minute", "minutes", "min", "mins", "m": try addTime(amount, 60_000_000)
            case "second", "seconds", "sec", "secs", "s": try addTime(amount, 1_000_000)
            case "millisecond", "milliseconds", "ms", "msec", "msecs": try addMicros(amount * 1000)
            case "microsecond", "microseconds", "us", "usec", "usecs": try addMicros(amount)
            default: return nil
            }
            // Each field accumulates in 32 bits (PostgreSQL's 22015); years become months at the end.
            guard Int32(exactly: years) != nil, Int32(exactly: months) != nil, Int32(exactly: days) != nil else { throw outOfRange }
            sawAny = true
            index += 2
        }
        guard sawAny else { return nil }
        guard let m = Int32(exactly: years * 12 + months), let d = Int32(exactly: days) else { throw DatabaseError.intervalOutOfRange }
        let interval = Interval(months: m, days: d, micros: micros)
        if ago {
            guard let negated = interval.negated else { throw DatabaseError.intervalOutOfRange }
            return negated
        }
        return interval
    }

    /// PostgreSQL's default output (`IntervalStyle = postgres`): years, months and days with
    /// their signs (a positive field after a negative one gets a `+`), then the time when it is
    /// not zero or nothing came before.
    public var description: String {
        var text = ""
        var afterNegative = false
        func part(_ value: Int32, _ unit: String) {
            guard value != 0 else { return }
            if !text.isEmpty { text += " " }
            text += (afterNegative && value > 0 ? "+" : "") + "\(value) \(unit)" + (value == 1 ? "" : "s")
            afterNegative = value < 0
        }
        part(months / 12, "year")
        part(months % 12, "mon")
        part(days, "day")
        if micros != 0 || text.isEmpty {
            let magnitude = micros.magnitude
            let seconds = magnitude / 1_000_000
            let fraction = magnitude % 1_000_000
            var time = "\(DateMath.pad(Int(seconds / 3600), 2)):\(DateMath.pad(Int(seconds / 60 % 60), 2)):\(DateMath.pad(Int(seconds % 60), 2))"
            if fraction != 0 {
                var digits = DateMath.pad(Int(fraction), 6)
                while digits.hasSuffix("0") { digits.removeLast() }
                time += "." + digits
            }
            text += (text.isEmpty ? "" : " ") + (micros < 0 ? "-" : afterNegative ? "+" : "") + time
        }
        return text
    }
}

extension Substring {
    /// The substring without leading and trailing ASCII spaces.
    public var trimmingSpaces: Substring {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " { start = index(after: start) }
        while end > start, self[index(before: end)] == " " { end = index(before: end) }
        return self[start..<end]
    }
}
