export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

export interface ReadinessCheck {
  name: string;
  isReady(): boolean;
}
