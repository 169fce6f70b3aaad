/**
 * The names under which every handler logs and emits metrics (Powertools): the service name
 * (log field `service`, metric dimension `service`) and the CloudWatch metrics namespace. The CDK
 * stack sets them on every function and its alarms watch metrics by them; the handlers fall back
 * to them when the environment does not say (tests).
 */

export const SERVICE_NAME = 'trailkeeper';
export const METRICS_NAMESPACE = 'Trailkeeper';
