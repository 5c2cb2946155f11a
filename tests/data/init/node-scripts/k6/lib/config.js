export const TARGET = __ENV.TARGET || 'http://localhost:4000';
export const VUS = Number(__ENV.VUS || 5);
