// Python literals and config modules read into JSON (see pyliteral.h).
#include "core/pyliteral.h"

#include <cctype>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/number.h"
#include "core/text.h"

namespace assignscope {
namespace {

constexpr size_t kMaxText = size_t{16} << 20;  // a config file, not a dataset
constexpr int kMaxDepth = 200;                 // nesting of brackets and operators

enum class Tok { kName, kNumber, kString, kOp, kNewline, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // name, number as written, string value, operator
  size_t begin = 0;  // offsets into the source
  size_t end = 0;
  int line = 1, col = 1;
};

class Lexer {
 public:
  Lexer(const std::string& src, const std::string& origin) : src_(src), origin_(origin) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> out;
    int depth = 0;
    while (true) {
      skip_blanks(depth > 0);
      Token t;
      t.begin = pos_, t.line = line_, t.col = col_;
      if (pos_ >= src_.size()) {
        t.kind = Tok::kEnd;
        out.push_back(t);
        return out;
      }
      const char c = src_[pos_];
      if (c == '\n') {
        advance();
        t.kind = Tok::kNewline, t.end = pos_;
        if (out.empty() || out.back().kind != Tok::kNewline) out.push_back(t);
        continue;
      }
      if (is_name_start(c)) {
        while (pos_ < src_.size() && is_name_char(src_[pos_])) advance();
        t.text = src_.substr(t.begin, pos_ - t.begin);
        // String prefixes: r'..', b'..', u'..', rb'..'.
        if (pos_ < src_.size() && (src_[pos_] == '\'' || src_[pos_] == '"') && t.text.size() <= 2 &&
            t.text.find_first_not_of("rRbBuU") == std::string::npos) {
          ASSIGNSCOPE_RETURN_IF_ERROR(read_string(&t, t.text.find_first_of("rR") != std::string::npos));
        } else if (pos_ < src_.size() && (src_[pos_] == '\'' || src_[pos_] == '"') && t.text.size() <= 2 &&
                   t.text.find_first_of("fF") != std::string::npos) {
          return error(t, "f-strings are not literals; write the value itself");
        } else {
          t.kind = Tok::kName;
        }
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 (c == '.' && pos_ + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))) {
        ASSIGNSCOPE_RETURN_IF_ERROR(read_number(&t));
      } else if (c == '\'' || c == '"') {
        ASSIGNSCOPE_RETURN_IF_ERROR(read_string(&t, false));
      } else {
        static const char* kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "(", ")", "[", "]",
                                     "{",  "}",  ",",  ":",  "=",  ".",  "+",  "-",  "*",  "/",  "%", "<", ">", "@"};
        bool found = false;
        for (const char* op : kOps) {
          const size_t n = std::char_traits<char>::length(op);
          if (src_.compare(pos_, n, op) == 0) {
            for (size_t i = 0; i < n; ++i) advance();
            t.kind = Tok::kOp, t.text = op, found = true;
            break;
          }
        }
        if (!found) return error(t, fmt::format("unexpected character '{}'", printable(std::string(1, c))));
        if (t.text == "(" || t.text == "[" || t.text == "{") {
          if (++depth > kMaxDepth) return error(t, fmt::format("nested more than {} deep", kMaxDepth));
        } else if (t.text == ")" || t.text == "]" || t.text == "}") {
          if (--depth < 0) return error(t, fmt::format("'{}' closes nothing", t.text));
        }
      }
      t.end = pos_;
      out.push_back(std::move(t));
    }
  }

 private:
  static bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  void advance() {
    if (src_[pos_] == '\n') ++line_, col_ = 1;
    else ++col_;
    ++pos_;
  }

  // Spaces, comments, line continuations; newlines too inside brackets.
  void skip_blanks(bool newlines) {
    while (pos_ < src_.size()) {
      const char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || (newlines && c == '\n')) {
        advance();
      } else if (c == '#') {
        while (pos_ < src_.size() && src_[pos_] != '\n') advance();
      } else if (c == '\\' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '\n') {
        advance(), advance();
      } else {
        return;
      }
    }
  }

  Status read_number(Token* t) {
    const size_t start = pos_;
    if (src_.compare(pos_, 2, "0x") == 0 || src_.compare(pos_, 2, "0X") == 0) {
      advance(), advance();
      while (pos_ < src_.size() && std::isxdigit(static_cast<unsigned char>(src_[pos_]))) advance();
    } else {
      while (pos_ < src_.size()) {
        const char c = src_[pos_];
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '_') {
          advance();
        } else if ((c == 'e' || c == 'E') && pos_ + 1 < src_.size()) {
          advance();
          if (src_[pos_] == '+' || src_[pos_] == '-') advance();
        } else {
          break;
        }
      }
    }
    t->kind = Tok::kNumber;
    t->text.clear();
    for (size_t i = start; i < pos_; ++i)
      if (src_[i] != '_') t->text += src_[i];
    if (pos_ < src_.size() && (is_name_char(src_[pos_])))
      return error(*t, fmt::format("'{}' is not a number", printable(src_.substr(start, pos_ - start + 1))));
    return Status();
  }

  Status read_string(Token* t, bool raw) {
    const char q = src_[pos_];
    const bool triple = src_.compare(pos_, 3, std::string(3, q)) == 0;
    const size_t n = triple ? 3 : 1;
    for (size_t i = 0; i < n; ++i) advance();
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) return error(*t, "a string is not closed");
      const char c = src_[pos_];
      if (src_.compare(pos_, n, std::string(n, q)) == 0) {
        for (size_t i = 0; i < n; ++i) advance();
        break;
      }
      if (c == '\n' && !triple) return error(*t, "a string is not closed on its line");
      if (c == '\\' && !raw && pos_ + 1 < src_.size()) {
        advance();
        const char e = src_[pos_];
        advance();
        switch (e) {
          case 'n': value += '\n'; break;
          case 't': value += '\t'; break;
          case 'r': value += '\r'; break;
          case '0': value += '\0'; break;
          case '\n': break;
          default: value += e; break;  // \\ \' \" and anything else as itself
        }
        continue;
      }
      value += c;
      advance();
    }
    t->kind = Tok::kString;
    t->text = std::move(value);
    return Status();
  }

  Status error(const Token& t, const std::string& what) const {
    return Status::Usage(fmt::format("{}: line {} column {}: {}", origin_, t.line, t.col, what));
  }

  const std::string& src_;
  const std::string& origin_;
  size_t pos_ = 0;
  int line_ = 1, col_ = 1;
};

using Json = nlohmann::json;
using Env = std::map<std::string, Json>;

class Parser {
 public:
  Parser(const std::string& src, const std::string& origin, std::vector<Token> toks, Env* env)
      : src_(src), origin_(origin), toks_(std::move(toks)), env_(env) {}

  Result<Json> expression() {
    if (++depth_ > kMaxDepth) return error(peek(), fmt::format("nested more than {} deep", kMaxDepth));
    auto v = additive();
    --depth_;
    return v;
  }

  // A module: assignments and imports; a bare expression is kept as "$value".
  Status module(nlohmann::ordered_json* out) {
    while (true) {
      while (peek().kind == Tok::kNewline) ++i_;
      if (peek().kind == Tok::kEnd) return Status();
      const Token& first = peek();
      if (first.kind == Tok::kName && (first.text == "import" || first.text == "from")) {
        while (peek().kind != Tok::kNewline && peek().kind != Tok::kEnd) ++i_;
        continue;
      }
      // `name = value`, `a.b.c = value`.
      size_t j = i_;
      std::vector<std::string> target;
      if (toks_[j].kind == Tok::kName) {
        target.push_back(toks_[j++].text);
        while (toks_[j].kind == Tok::kOp && toks_[j].text == "." && toks_[j + 1].kind == Tok::kName) {
          target.push_back(toks_[j + 1].text);
          j += 2;
        }
      }
      if (!target.empty() && toks_[j].kind == Tok::kOp && toks_[j].text == "=") {
        i_ = j + 1;
        ASSIGNSCOPE_ASSIGN_OR_RETURN(Json v, expression());
        ASSIGNSCOPE_RETURN_IF_ERROR(end_of_statement());
        assign(target, std::move(v), out);
        continue;
      }
      if (first.kind == Tok::kName && is_keyword(first.text))
        return error(first, fmt::format("'{}' statements are not read: a config is read as its assignments "
                                        "(name = value) and imports",
                                        first.text));
      ASSIGNSCOPE_ASSIGN_OR_RETURN(Json v, expression());
      ASSIGNSCOPE_RETURN_IF_ERROR(end_of_statement());
      (*out)["$value"] = std::move(v);  // a lone expression (or a module's docstring)
    }
  }

  const Token& peek() const { return toks_[i_]; }
  bool at_end() const { return toks_[i_].kind == Tok::kEnd || toks_[i_].kind == Tok::kNewline; }

  Status error(const Token& t, const std::string& what) const {
    if (t.kind == Tok::kEnd) return Status::Usage(fmt::format("{}: {} (at the end)", origin_, what));
    return Status::Usage(fmt::format("{}: line {} column {}: {}", origin_, t.line, t.col, what));
  }

 private:
  static bool is_keyword(const std::string& s) {
    static const char* kWords[] = {"if",     "for", "while",  "with",  "def",    "class", "try",  "return",
                                   "lambda", "del", "assert", "raise", "global", "async", "elif", "else"};
    for (const char* w : kWords)
      if (s == w) return true;
    return false;
  }

  Status end_of_statement() {
    if (at_end()) return Status();
    return error(peek(), fmt::format("expected the end of the statement, found '{}'", token_text(peek())));
  }

  void assign(const std::vector<std::string>& target, Json v, nlohmann::ordered_json* out) {
    if (target.size() == 1) {
      (*env_)[target[0]] = v;
      (*out)[target[0]] = std::move(v);
      return;
    }
    // `model.train_cfg.assigner = dict(...)`: into the bound object when there is one.
    auto it = out->find(target[0]);
    if (it == out->end() || !it->is_object()) return;
    nlohmann::ordered_json* node = &*it;
    for (size_t k = 1; k + 1 < target.size(); ++k) {
      if (!node->is_object()) return;
      node = &(*node)[target[k]];
    }
    if (!node->is_object() && !node->is_null()) return;
    (*node)[target.back()] = v;
    (*env_)[target[0]] = *it;
  }

  static std::string token_text(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd: return "the end";
      case Tok::kNewline: return "a new line";
      case Tok::kString: return "a string";
      default: return printable(t.text, 40);
    }
  }

  bool accept(const char* op) {
    if (peek().kind == Tok::kOp && peek().text == op) {
      ++i_;
      return true;
    }
    return false;
  }

  Status expect(const char* op) {
    if (accept(op)) return Status();
    return error(peek(), fmt::format("expected '{}', found '{}'", op, token_text(peek())));
  }

  std::string source(size_t from_token) const {
    const size_t b = toks_[from_token].begin, e = toks_[i_ - 1].end;
    return src_.substr(b, e > b ? e - b : 0);
  }

  static Json unevaluated(std::string text) { return Json{{"$expr", std::move(text)}}; }

  // Arithmetic on numbers as Python does it (int op int stays int but for /).
  static std::optional<Json> arithmetic(const Json& a, const std::string& op, const Json& b) {
    if (a.is_string() && b.is_string() && op == "+") return Json(a.get<std::string>() + b.get<std::string>());
    if (a.is_array() && b.is_array() && op == "+") {
      Json r = a;
      for (const Json& x : b) r.push_back(x);
      return r;
    }
    if (!a.is_number() || !b.is_number() || a.is_boolean() || b.is_boolean()) return std::nullopt;
    const bool ints = a.is_number_integer() && b.is_number_integer();
    if (ints && op != "/" && op != "**") {
      const int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
      if (op == "+") return Json(x + y);
      if (op == "-") return Json(x - y);
      if (op == "*") return Json(x * y);
      if ((op == "//" || op == "%") && y != 0) {
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return op == "//" ? Json(q) : Json(x - q * y);
      }
      return std::nullopt;
    }
    const double x = a.get<double>(), y = b.get<double>();
    double r;
    if (op == "+") r = x + y;
    else if (op == "-") r = x - y;
    else if (op == "*") r = x * y;
    else if (op == "/" && y != 0) r = x / y;
    else if (op == "//" && y != 0) r = std::floor(x / y);
    else if (op == "**") r = std::pow(x, y);
    else return std::nullopt;
    if (!std::isfinite(r)) return std::nullopt;
    if (ints && op == "**" && y >= 0 && std::fabs(r) < 9e15) return Json(static_cast<int64_t>(r));
    return Json(r);
  }

  Result<Json> binary(Result<Json> (Parser::*next)(), std::initializer_list<const char*> ops) {
    const size_t start = i_;
    ASSIGNSCOPE_ASSIGN_OR_RETURN(Json acc, (this->*next)());
    while (true) {
      const char* matched = nullptr;
      for (const char* op : ops)
        if (peek().kind == Tok::kOp && peek().text == op) matched = op;
      if (!matched) return acc;
      ++i_;
      ASSIGNSCOPE_ASSIGN_OR_RETURN(const Json right, (this->*next)());
      auto r = arithmetic(acc, matched, right);
      acc = r ? std::move(*r) : unevaluated(source(start));
    }
  }

  Result<Json> additive() { return binary(&Parser::term, {"+", "-"}); }
  Result<Json> term() { return binary(&Parser::unary, {"*", "/", "//", "%", "@"}); }

  Result<Json> unary() {
    const size_t start = i_;
    if (accept("-") || accept("+")) {
      const bool neg = toks_[start].text == "-";
      if (++depth_ > kMaxDepth) return error(peek(), fmt::format("nested more than {} deep", kMaxDepth));
      auto v = unary();
      --depth_;
      if (!v.ok()) return v;
      if (!neg) return v;
      if (v->is_number_integer()) return Json(-v->get<int64_t>());
      if (v->is_number_float()) return Json(-v->get<double>());
      return unevaluated(source(start));
    }
    return power();
  }

  Result<Json> power() {
    const size_t start = i_;
    auto base = primary();
    if (!base.ok() || !accept("**")) return base;
    ASSIGNSCOPE_ASSIGN_OR_RETURN(const Json exp, unary());
    auto r = arithmetic(*base, "**", exp);
    return r ? std::move(*r) : unevaluated(source(start));
  }

  // Comma-separated values up to `close`, trailing comma allowed.
  Result<Json> sequence(const char* close, bool* had_comma) {
    Json items = Json::array();
    *had_comma = false;
    while (!accept(close)) {
      ASSIGNSCOPE_ASSIGN_OR_RETURN(Json v, expression());
      items.push_back(std::move(v));
      if (accept(",")) {
        *had_comma = true;
        continue;
      }
      ASSIGNSCOPE_RETURN_IF_ERROR(expect(close));
      break;
    }
    return items;
  }

  // The arguments of a call: keywords into `object`, positionals into "$args".
  Status arguments(Json* object, bool positional_allowed, const std::string& callee) {
    Json args = Json::array();
    while (!accept(")")) {
      if (peek().kind == Tok::kOp && (peek().text == "*" || peek().text == "**"))
        return error(peek(), fmt::format("{}(...): * and ** arguments are not literals", callee));
      if (peek().kind == Tok::kName && toks_[i_ + 1].kind == Tok::kOp && toks_[i_ + 1].text == "=") {
        const std::string key = peek().text;
        i_ += 2;
        ASSIGNSCOPE_ASSIGN_OR_RETURN(Json v, expression());
        (*object)[key] = std::move(v);
      } else {
        if (!positional_allowed)
          return error(peek(), fmt::format("{}(...) takes keyword arguments (name=value) here", callee));
        ASSIGNSCOPE_ASSIGN_OR_RETURN(Json v, expression());
        args.push_back(std::move(v));
      }
      if (!accept(",")) {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect(")"));
        break;
      }
    }
    if (!args.empty()) (*object)["$args"] = std::move(args);
    return Status();
  }

  // A value: a literal, a name (bound, else kept as written), a call, or a
  // bracketed tuple / list / dict; then any subscripts or calls on it.
  Result<Json> primary() {
    const size_t start = i_;
    const Token t = peek();
    Json value;
    switch (t.kind) {
      case Tok::kNumber: {
        ++i_;
        ASSIGNSCOPE_ASSIGN_OR_RETURN(value, number(t));
        break;
      }
      case Tok::kString: {
        std::string s;
        while (peek().kind == Tok::kString) s += toks_[i_++].text;  // 'a' 'b' concatenates
        value = s;
        break;
      }
      case Tok::kName: {
        ++i_;
        ASSIGNSCOPE_ASSIGN_OR_RETURN(value, name_or_call(t.text));
        break;
      }
      case Tok::kOp: {
        ASSIGNSCOPE_ASSIGN_OR_RETURN(value, bracketed(t));
        break;
      }
      default: return error(t, fmt::format("expected a value, found {}", token_text(t)));
    }
    // Subscripts and calls on a value are not literals.
    while (peek().kind == Tok::kOp && (peek().text == "[" || peek().text == "(")) {
      const std::string close = peek().text == "[" ? "]" : ")";
      ++i_;
      bool comma = false;
      ASSIGNSCOPE_RETURN_IF_ERROR(sequence(close.c_str(), &comma).status());  // checked, then shown as written
      value = unevaluated(source(start));
    }
    return value;
  }

  // An int (decimal or 0x hex, int64) or a finite float.
  Result<Json> number(const Token& t) {
    const std::string& s = t.text;
    const bool is_float = s.find_first_of(".eE") != std::string::npos && s.compare(0, 2, "0x") != 0;
    if (!is_float) {
      const bool hex = s.size() > 2 && (s[1] == 'x' || s[1] == 'X');
      const std::optional<int64_t> v = parse_int(std::string_view(s).substr(hex ? 2 : 0), hex ? 16 : 10);
      if (v) return Json(*v);
    }
    const std::optional<double> d = parse_double(s, NumberCheck::kFinite);
    if (!d) return error(t, fmt::format("'{}' is not a finite number", printable(s, 40)));
    return Json(*d);
  }

  // True/False/None, a dotted name (its bound value, else the name as
  // written), or a call: dict(...) is an object, Name(...) an object with
  // "type": Name and "$call".
  Result<Json> name_or_call(std::string name) {
    if (name == "True" || name == "true") return Json(true);
    if (name == "False" || name == "false") return Json(false);
    if (name == "None" || name == "null") return Json(nullptr);
    while (peek().kind == Tok::kOp && peek().text == "." && toks_[i_ + 1].kind == Tok::kName) {
      name += "." + toks_[i_ + 1].text;
      i_ += 2;
    }
    if (!accept("(")) return lookup(name);
    Json call = Json::object();
    const bool is_dict = name == "dict";
    if (!is_dict) call["type"] = name;
    ASSIGNSCOPE_RETURN_IF_ERROR(arguments(&call, !is_dict, name));
    if (!is_dict) call["$call"] = true;
    return call;
  }

  // (x) / (tuple,) / [list] / {dict}, at the operator token `t`.
  Result<Json> bracketed(const Token& t) {
    bool comma = false;
    if (accept("(")) {
      ASSIGNSCOPE_ASSIGN_OR_RETURN(Json items, sequence(")", &comma));
      if (items.size() == 1 && !comma) return Json(std::move(items[0]));  // parentheses
      return items;                                                       // a tuple
    }
    if (accept("[")) return sequence("]", &comma);
    if (accept("{")) return dict_display();
    return error(t, fmt::format("expected a value, found '{}'", token_text(t)));
  }

  // {key: value, ...} after its '{'; keys are strings or numbers.
  Result<Json> dict_display() {
    Json obj = Json::object();
    while (!accept("}")) {
      ASSIGNSCOPE_ASSIGN_OR_RETURN(const Json key, expression());
      if (!key.is_string() && !key.is_number()) return error(toks_[i_ - 1], "a dict key must be a string or a number");
      ASSIGNSCOPE_RETURN_IF_ERROR(expect(":"));
      ASSIGNSCOPE_ASSIGN_OR_RETURN(Json v, expression());
      obj[key.is_string() ? key.get<std::string>() : key.dump()] = std::move(v);
      if (!accept(",")) {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect("}"));
        break;
      }
    }
    return obj;
  }

  Json lookup(const std::string& dotted) const {
    const size_t dot = dotted.find('.');
    const std::string head = dotted.substr(0, dot);
    auto it = env_->find(head);
    if (it == env_->end()) return Json{{"$name", dotted}};
    const Json* node = &it->second;
    size_t from = dot;
    while (from != std::string::npos) {
      const size_t next = dotted.find('.', from + 1);
      const std::string key = dotted.substr(from + 1, next == std::string::npos ? std::string::npos : next - from - 1);
      if (!node->is_object() || !node->contains(key)) return Json{{"$name", dotted}};
      node = &(*node)[key];
      from = next;
    }
    return *node;
  }

  const std::string& src_;
  const std::string& origin_;
  std::vector<Token> toks_;
  size_t i_ = 0;
  int depth_ = 0;
  Env* env_;
};

Result<std::vector<Token>> lex(const std::string& text, const std::string& origin) {
  if (text.size() > kMaxText)
    return Status::Usage(fmt::format("{}: {} bytes; a config is read up to {} bytes", origin, text.size(), kMaxText));
  return Lexer(text, origin).run();
}

}  // namespace

Result<nlohmann::ordered_json> parse_python_module(const std::string& text, const std::string& origin) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto toks, lex(text, origin));
  Env env;
  Parser p(text, origin, std::move(toks), &env);
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  ASSIGNSCOPE_RETURN_IF_ERROR(p.module(&out));
  return out;
}

Result<nlohmann::json> parse_python_value(const std::string& text, const std::string& origin) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(nlohmann::ordered_json module, parse_python_module(text, origin));
  if (module.size() == 1) return nlohmann::json(module.begin().value());
  if (module.contains("$value") && module.size() == 1) return nlohmann::json(module["$value"]);
  if (module.empty()) return Status::Usage(fmt::format("{}: holds no value", origin));
  return Status::Usage(fmt::format("{}: holds {} statements; expected one value", origin, module.size()));
}

bool is_python_name(const nlohmann::json& v) { return v.is_object() && v.size() == 1 && v.contains("$name"); }
bool is_python_call(const nlohmann::json& v) {
  return v.is_object() && v.contains("$call") && v["$call"].is_boolean() && v["$call"].get<bool>();
}
bool is_unevaluated(const nlohmann::json& v) {
  return is_python_name(v) || (v.is_object() && v.size() == 1 && v.contains("$expr"));
}
std::string python_source(const nlohmann::json& v) {
  if (is_python_name(v)) return v["$name"].get<std::string>();
  if (v.is_object() && v.contains("$expr") && v["$expr"].is_string()) return v["$expr"].get<std::string>();
  return json_snippet(v);
}

}  // namespace assignscope
