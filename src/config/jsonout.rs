//! A small JSON writer for `--check --json`: objects and arrays written in order, the
//! commas placed for the caller. (serde_json's `Value` serializer, with its float
//! formatting, would add tens of KiB to a daemon whose budget is 1 MiB; only integers,
//! booleans, strings and null are written here.)

use crate::rpc::push_json_string;

#[derive(Default)]
pub struct Json {
    out: String,
    /// For each open object or array: whether it has an element yet.
    open: Vec<bool>,
    /// A key was just written: its value needs no comma.
    after_key: bool,
}

impl Json {
    pub fn new() -> Json {
        Json::default()
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn before_value(&mut self) {
        if std::mem::take(&mut self.after_key) {
            return;
        }
        if let Some(has) = self.open.last_mut() {
            if *has {
                self.out.push(',');
            }
            *has = true;
        }
    }

    /// `"name":` inside an object; write its value next.
    pub fn key(&mut self, name: &str) -> &mut Json {
        self.before_value();
        push_json_string(&mut self.out, name);
        self.out.push(':');
        self.after_key = true;
        self
    }

    pub fn str(&mut self, value: &str) -> &mut Json {
        self.before_value();
        push_json_string(&mut self.out, value);
        self
    }

    pub fn opt_str(&mut self, value: Option<&str>) -> &mut Json {
        match value {
            Some(v) => self.str(v),
            None => self.null(),
        }
    }

    pub fn int(&mut self, value: i64) -> &mut Json {
        self.before_value();
        self.out.push_str(&value.to_string());
        self
    }

    pub fn uint(&mut self, value: u64) -> &mut Json {
        self.before_value();
        self.out.push_str(&value.to_string());
        self
    }

    pub fn bool(&mut self, value: bool) -> &mut Json {
        self.before_value();
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    pub fn null(&mut self) -> &mut Json {
        self.before_value();
        self.out.push_str("null");
        self
    }

    pub fn begin_object(&mut self) -> &mut Json {
        self.before_value();
        self.out.push('{');
        self.open.push(false);
        self
    }

    pub fn end_object(&mut self) -> &mut Json {
        self.open.pop();
        self.out.push('}');
        self
    }

    pub fn begin_array(&mut self) -> &mut Json {
        self.before_value();
        self.out.push('[');
        self.open.push(false);
        self
    }

    pub fn end_array(&mut self) -> &mut Json {
        self.open.pop();
        self.out.push(']');
        self
    }

    /// An array of strings.
    pub fn strs<'s>(&mut self, items: impl IntoIterator<Item = &'s str>) -> &mut Json {
        self.begin_array();
        for item in items {
            self.str(item);
        }
        self.end_array()
    }

    /// An object of string values, in the given order.
    pub fn pairs(&mut self, pairs: &[(String, String)]) -> &mut Json {
        self.begin_object();
        for (key, value) in pairs {
            self.key(key).str(value);
        }
        self.end_object()
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn commas_go_between_elements_only() {
        let mut j = Json::new();
        j.begin_object();
        j.key("a").int(-1);
        j.key("b")
            .begin_array()
            .uint(1)
            .bool(true)
            .null()
            .end_array();
        j.key("c").begin_object().end_object();
        j.key("d\"").opt_str(Some("x\ny"));
        j.key("e")
            .pairs(&[("k".into(), "v".into()), ("l".into(), "w".into())]);
        j.key("f").strs(["p", "q"]);
        j.end_object();
        assert_eq!(
            j.finish(),
            r#"{"a":-1,"b":[1,true,null],"c":{},"d\"":"x\ny","e":{"k":"v","l":"w"},"f":["p","q"]}"#
        );
    }
}
