// The shortcut audit (issue #18): does a model rely on a spurious cue? Measures, runner, verdict, report, data sources.
export { measureMap, areaOf, type MapMeasure } from './measures.ts';
export { audit, argmaxRows, type Audit, type AuditData, type AuditOptions, type AuditScores, type MethodAudit, type CounterfactualResult } from './audit.ts';
export { verdict, type Verdict, type VerdictOptions } from './verdict.ts';
export { auditReport, wrap, type ReportRow, type ReportOptions } from './report.ts';
export { shortcutAuditData, type ShortcutAudit } from './shortcut_data.ts';
export { cueBox, fineLayer } from './fine_layer.ts';
