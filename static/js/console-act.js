/* Console: what a dispatcher or supervisor can do to the open case — exactly the case's allowed actions, each
   with the form it needs; dispatching offers the router's top suggestions and why (travel, queue, handling time,
   lateness), or a department. Refusals show the server's message. Uses common.js (UO); exposes `CaseActions`. */
(function () {
  "use strict";
  const { esc, getJSON, postJSON, vocabulary } = UO;
  // Allowed action → [API verb, fields ("!" = required), fixed values]. Field-only actions are not offered here.
  const FORMS = {
    verify: ["verify", ["note"], { valid: true }],
    invalidate: ["verify", ["note!"], { valid: false }],
    file: ["file", ["priority"], {}],
    dispatch: ["dispatch", ["assignee"], {}],
    return: ["return", ["reason!"], {}],
    approve_delay: ["approve-delay", ["note"], {}],
    reject_delay: ["reject-delay", ["note"], {}],
    suspend: ["suspend", ["reason!"], {}],
    resume: ["resume", [], {}],
    void: ["void", ["reason!"], {}],
    merge: ["merge", ["into!"], {}],
    recategorise: ["recategorise", ["category!", "note"], {}],
    check_pass: ["check", ["note"], { passed: true }],
    check_fail: ["check", ["note!"], { passed: false }],
  };
  const fmt = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => vars[k]);
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

  async function assigneeField(caseId, t) {
    const [cands, depts] = await Promise.all([getJSON(`/api/v1/cases/${caseId}/candidates`),
      getJSON("/api/v1/departments")]);
    const rows = cands.candidates.map((c, i) => `<label class="pick"><input type="radio" name="assignee_id"
        value="${c.worker.id}" ${i === 0 ? "checked" : ""}> <b>${esc(c.worker.name)}</b> · ${esc(c.tier_label)}
        <span class="why">${esc(fmt(t.why, { km: c.km, travel: c.minutes.travel, workload: c.minutes.workload,
          handle: c.minutes.handle, lateness: c.minutes.lateness }))}</span></label>`).join("");
    return `<fieldset class="picks"><legend>${esc(t.suggested)}</legend>
      ${rows || `<p class="muted">${esc(cands.waiting || t.nobody)}</p>`}
      <label>${esc(t.department)} <select name="department_id"><option value="">—</option>
        ${depts.map((d) => `<option value="${d.id}">${esc(d.name)}</option>`).join("")}</select></label></fieldset>`;
  }

  /** 合并: the open cases of the same category nearby are offered; a number can still be typed. */
  async function mergeField(c, t) {
    const [lon, lat] = c.geometry.coordinates;
    const near = await getJSON(`/api/v1/nearby?category=${encodeURIComponent(c.properties.category)}&lon=${lon}&lat=${lat}`)
      .catch(() => []);
    const others = near.filter((k) => k.number !== c.properties.number);
    return `${others.length ? `<fieldset class="picks"><legend>${esc(t.merge_near)}</legend>${others.map((k, i) =>
      `<label class="pick"><input type="radio" name="pick_into" value="${esc(k.number)}" ${i === 0 ? "checked" : ""}>
        <b>${esc(k.number)}</b> · ${esc(k.status_label)} · ${k.distance_m} m</label>`).join("")}</fieldset>` : ""}
      <label>${esc(t.into)} <input name="into" maxlength="20" ${others.length ? "" : "required"}
        value="${others.length ? esc(others[0].number) : ""}"></label>`;
  }

  /** 改类: every active category, grouped by class, the case's own left out. */
  async function categoryField(c, t) {
    const cats = await getJSON("/api/v1/categories");
    const groups = new Map();
    cats.filter((k) => k.code !== c.properties.category).forEach((k) => {
      if (!groups.has(k.class.name)) groups.set(k.class.name, []);
      groups.get(k.class.name).push(k);
    });
    return `<label>${esc(t.category)} <select name="category" required><option value="">—</option>${[...groups].map(([g, ks]) =>
      `<optgroup label="${esc(g)}">${ks.map((k) => `<option value="${esc(k.code)}">${esc(k.name)}</option>`).join("")}</optgroup>`).join("")}
      </select></label>`;
  }

  function field(name, t) {
    const key = name.replace("!", ""), required = name.endsWith("!") ? "required" : "";
    if (key === "priority") {
      return `<label>${esc(t.priority)} <select name="priority"><option value="">—</option>
        ${[1, 2, 3, 4].map((n) => `<option value="${n}">${n}</option>`).join("")}</select></label>`;
    }
    if (key === "into") return `<label>${esc(t.into)} <input name="into" ${required} maxlength="20"></label>`;
    return `<label>${esc(required ? t.reason : t.note)} <textarea name="${key}" rows="2" maxlength="500" ${required}></textarea></label>`;
  }

  /** Offer the actions of case `c` (a case detail Feature) in `box`; `done()` after one succeeded. */
  function render(box, c, t, done) {
    const p = c.properties;
    const offered = p.allowed_actions.filter((a) => FORMS[a]);
    if (p.status === "dispatched" && !offered.includes("dispatch")) offered.unshift("dispatch");
    if (!offered.length) { box.innerHTML = ""; return; }
    box.innerHTML = `<h3>${esc(t.actions)}</h3><div class="acts">${offered.map((a) =>
      `<button type="button" data-act="${a}">${esc(a === "dispatch" && p.status === "dispatched" ? t.reassign : vocabulary.action[a] || a)}</button>`).join("")}</div>
      <form class="act-form" hidden></form><p class="error" role="alert" hidden></p>`;
    const form = box.querySelector(".act-form"), error = box.querySelector(".error");
    box.querySelector(".acts").addEventListener("click", async (e) => {
      const action = e.target.dataset.act;
      if (!action) return;
      const [verb, fields, fixed] = FORMS[action];
      error.hidden = true;
      const inputs = await Promise.all(fields.map((f) => (f === "assignee" ? assigneeField(c.id, t)
        : f === "into!" ? mergeField(c, t) : f === "category!" ? categoryField(c, t) : field(f, t))));
      form.innerHTML = `${inputs.join("")}<button type="submit">${esc(t.send)}: ${esc(e.target.textContent)}</button>`;
      form.hidden = false;
      form.onchange = (ev) => { if (ev.target.name === "pick_into") form.elements.into.value = ev.target.value; };
      form.onsubmit = async (ev) => {
        ev.preventDefault();
        const values = { ...fixed, base_version: p.version, action_key: newKey() };
        new FormData(form).forEach((v, k) => { if (String(v).trim() && k !== "pick_into") values[k] = String(v).trim(); });
        if (values.department_id) delete values.assignee_id;  // a department chosen on purpose wins
        try {
          await postJSON(`/api/v1/cases/${c.id}/${verb}`, values);
          form.hidden = true;
          done();
        } catch (err) {
          error.textContent = err.message; error.hidden = false;
        }
      };
    });
  }

  /** What the words and the neighbourhood say about case `c`: a likelier category (改类 in one click) and
   *  possible duplicates (merge in one click: the newer report goes into the older case). */
  async function insight(box, c, t, done) {
    const p = c.properties;
    let data;
    try { data = await getJSON(`/api/v1/cases/${c.id}/insight`); } catch (err) { box.innerHTML = ""; return; }
    const h = data.category_hint, canRecat = p.allowed_actions.includes("recategorise");
    const pct = (x) => `${Math.round(x * 100)}%`;
    box.innerHTML = `${h ? `<p class="hint" role="note">⚠ ${esc(t.hint)} <b>${esc(h.name)}</b> (${pct(h.confidence)})
        ${canRecat ? `<button type="button" data-recat="${esc(h.code)}">${esc(t.recategorise)}</button>` : ""}</p>` : ""}
      ${data.duplicates.length ? `<h3>${esc(t.dups)}</h3><ul class="dups">${data.duplicates.map((d) =>
        `<li><a href="#" data-case="${d.id}">${esc(d.number)}</a> ${esc(d.category_name)} · ${esc(vocabulary.status[d.status] || d.status)}
          · ${d.distance_m} m · ${d.hours} h · ${esc(t.likeness)} ${pct(d.score)}${d.text !== null ? ` · ${esc(t.words)} ${pct(d.text)}` : ""}${d.photo !== null ? ` · ${esc(t.photo)} ${pct(d.photo)}` : ""}
          <button type="button" data-merge="${d.id}" data-number="${esc(d.number)}" data-older="${new Date(d.reported_at) < new Date(p.reported_at)}">${esc(t.merge)}</button></li>`).join("")}</ul>` : ""}
      <p class="error" role="alert" hidden></p>`;
    const error = box.querySelector(".error");
    box.onclick = async (e) => {
      const b = e.target.closest("button");
      if (!b) return;
      let url, body;
      if (b.dataset.recat) { url = `/api/v1/cases/${c.id}/recategorise`; body = { category: b.dataset.recat, base_version: p.version }; }
      else if (b.dataset.older === "true") { url = `/api/v1/cases/${c.id}/merge`; body = { into: b.dataset.number, base_version: p.version }; }
      else if (b.dataset.merge) { url = `/api/v1/cases/${b.dataset.merge}/merge`; body = { into: p.number }; }
      else return;
      b.disabled = true;
      try { await postJSON(url, { ...body, action_key: newKey() }); done(); }
      catch (err) { error.textContent = err.message; error.hidden = false; b.disabled = false; }
    };
  }

  window.CaseActions = { render, insight };
})();
