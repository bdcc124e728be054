import { parse as parseYaml } from 'yaml';
import { renderKustomize as render } from './deploy-files.js';

/** The PromQL the KEDA ScaledObject of a queue's workers runs, from the rendered prod-keda overlay. */
export function kedaQuery(queue: string): string {
  const scaled = render('k8s/overlays/prod-keda').find((d) => d.kind === 'ScaledObject' && d.spec.scaleTargetRef.name === `drover-worker-${queue}`);
  return scaled.spec.triggers.find((t: { type: string }) => t.type === 'prometheus').metadata.query;
}

/**
 * The PromQL prometheus-adapter runs for a queue's HPA (rendered prod overlay): the adapter rule's
 * metricsQuery with <<.Series>> as the HPA's metric name and <<.LabelMatchers>> as its selector.
 * The namespace matcher the adapter also adds is left out: the loopback Prometheus of the tests
 * scrapes processes, not pods, so its series have no namespace label.
 */
export function adapterQuery(queue: string): string {
  const docs = render('k8s/overlays/prod');
  const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler' && d.spec.scaleTargetRef.name === `drover-worker-${queue}`);
  const metric = hpa.spec.metrics[0].external.metric;
  const config = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name.startsWith('drover-prometheus-adapter-rules'));
  const rule = (parseYaml(config.data['config.yaml']) as { externalRules: { seriesQuery: string; metricsQuery: string }[] }).externalRules.find((r) => r.seriesQuery.startsWith(metric.name))!;
  const matchers = Object.entries<string>(metric.selector.matchLabels).map(([k, v]) => `${k}="${v}"`).join(',');
  return rule.metricsQuery.replace('<<.Series>>', metric.name).replace('<<.LabelMatchers>>', matchers);
}
